import { describe, expect, it } from 'vitest';
import type { ProgressRecord } from '../../src/nn/train.js';
import { ProgressPublisher } from '../../src/job-handler/progress-publisher.js';

const record = (iteration: number, extra: Partial<ProgressRecord> = {}): ProgressRecord => ({
  epoch: 1,
  iteration,
  timeElapsed: iteration / 10,
  miniBatchLoss: 1,
  miniBatchAccuracy: 0.5,
  baseLearnRate: 0.01,
  totalIterations: 100,
  verbose: false,
  ...extra,
});

describe('ProgressPublisher', () => {
  it('sends at most one record per interval, but every verbose row and validation record, and the last on flush, in order', async () => {
    let now = 0;
    const sent: number[] = [];
    const publisher = new ProgressPublisher(async (r) => void sent.push(r.iteration), 100, () => now);
    publisher.offer(record(1, { verbose: true }));
    now = 10;
    publisher.offer(record(2));
    now = 20;
    publisher.offer(record(3));
    now = 30;
    publisher.offer(record(4, { validationLoss: 0.5, validationAccuracy: 0.8 }));
    now = 40;
    publisher.offer(record(5));
    now = 200;
    publisher.offer(record(6));
    now = 210;
    publisher.offer(record(7));
    await publisher.flush();
    expect(sent).toEqual([1, 4, 6, 7]);
  });

  it('rethrows a failed send on flush, after sending what it could', async () => {
    const sent: number[] = [];
    const publisher = new ProgressPublisher(async (r) => {
      if (r.iteration === 2) throw new Error('redis down');
      sent.push(r.iteration);
    }, 0);
    for (const i of [1, 2, 3]) publisher.offer(record(i, { verbose: true }));
    await expect(publisher.flush()).rejects.toThrow('redis down');
    expect(sent).toEqual([1, 3]);
  });
});
