import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/ui/page/api-types.js';
import { TrainingHistory } from '../../src/ui/page/training-history.js';

let n = 0;
const progress = (epoch: number, iteration: number, timeElapsed = iteration / 2): JobEvent => ({
  id: `1-${n++}`,
  type: 'progress',
  epoch,
  iteration,
  timeElapsed,
  miniBatchLoss: 1 / iteration,
  miniBatchAccuracy: 0.5,
  baseLearnRate: 0.01,
  totalIterations: 20,
  verbose: false,
});
const status = (s: 'queued' | 'running'): JobEvent => ({ id: `1-${n++}`, type: 'status', status: s });
const resumed = (iteration: number): JobEvent => ({ id: `1-${n++}`, type: 'status', status: 'resumed', iteration });

describe('TrainingHistory', () => {
  it('keeps the progress records, the status and the ending', () => {
    const history = new TrainingHistory();
    for (const e of [status('queued'), status('running'), progress(1, 1), progress(1, 2, 4)]) history.apply(e);
    expect(history.status).toBe('running');
    expect(history.points.map((p) => p.iteration)).toEqual([1, 2]);
    expect(history.points[0]).not.toHaveProperty('id');
    expect(history.iterationsPerSecond()).toBe(0.5);
    // 18 iterations to go at 0.5 a second
    expect(history.secondsLeft()).toBe(36);
    history.apply({ id: '1-99', type: 'cancelled' });
    expect(history.secondsLeft()).toBeNull();
    expect(history.status).toBe('cancelled');
    expect(history.terminal).toEqual({ id: '1-99', type: 'cancelled' });
  });

  it('puts each epoch boundary between the last record of one epoch and the first of the next', () => {
    const history = new TrainingHistory();
    for (const e of [progress(1, 1), progress(1, 9), progress(2, 10), progress(2, 14), progress(3, 21)]) history.apply(e);
    expect(history.epochBoundaries()).toEqual([
      { epoch: 2, at: 9.5 },
      { epoch: 3, at: 17.5 },
    ]);
  });

  it('starts afresh when the job runs again after progress (its worker died or handed it back)', () => {
    const history = new TrainingHistory();
    for (const e of [status('running'), progress(1, 1), progress(1, 2), status('queued'), status('running'), progress(1, 1)]) history.apply(e);
    expect(history.restarts).toBe(1);
    expect(history.points.map((p) => p.iteration)).toEqual([1]);
  });

  it('keeps its history when the job resumes from a checkpoint, and marks where', () => {
    const history = new TrainingHistory();
    // Checkpoint after 2; the worker died after reporting 3; the next attempt resumes after 2 and reports from 4.
    for (const e of [status('running'), progress(1, 1), progress(1, 2), progress(1, 3), status('running'), resumed(2), progress(1, 4)]) history.apply(e);
    expect(history.restarts).toBe(0);
    expect(history.resumedAt).toEqual([2]);
    expect(history.status).toBe('running');
    expect(history.points.map((p) => p.iteration)).toEqual([1, 2, 3, 4]);
  });

  it('keeps the resumes that skipped unreadable checkpoints and the restarts none could be read for, and starts afresh on a restart', () => {
    const history = new TrainingHistory();
    const skipped = [{ iteration: 10, reason: 'its tensors do not match their checksum' }];
    const fellBack: JobEvent = { id: `1-${n++}`, type: 'status', status: 'resumed', iteration: 5, skippedCheckpoints: skipped };
    const restarted: JobEvent = { id: `1-${n++}`, type: 'status', status: 'restarted', skippedCheckpoints: skipped };
    for (const e of [status('running'), progress(1, 6), status('running'), resumed(5), progress(1, 7), status('running'), fellBack, progress(1, 8), status('running'), restarted, progress(1, 1)]) history.apply(e);
    expect(history.checkpointFallbacks).toEqual([fellBack, restarted]);
    expect(history.resumedAt).toEqual([5, 5]);
    expect(history.restarts).toBe(1);
    expect(history.status).toBe('running');
    expect(history.points.map((p) => p.iteration)).toEqual([1]);
  });
});
