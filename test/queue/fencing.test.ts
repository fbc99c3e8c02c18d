import { stat } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProgressRecord } from '../../src/nn/train.js';
import { PublicationRefused } from '../../src/store/models.js';
import { blockFor, QueueHarness, stubMetrics, until } from '../helpers/queue.js';

let harness: QueueHarness;
afterEach(() => harness.close());

const progress: ProgressRecord = { epoch: 1, iteration: 1, timeElapsed: 0, miniBatchLoss: 1, miniBatchAccuracy: 0.5, baseLearnRate: 0.01, totalIterations: 1, verbose: false };

describe('fencing a job by its attempt', () => {
  it.each([
    ['while attempt 2 still runs', 'running'],
    ['after attempt 2 completed the job', 'completed'],
  ] as const)('a stale attempt whose lock lapsed can neither write, complete the job nor publish its model: it resumes %s', async (_, resumeWhen) => {
    harness = await QueueHarness.start('fencing');
    const started: number[] = [];
    const published: number[] = [];
    const refused: unknown[] = [];
    let firstDone = false;
    let staleAborted = false;
    const train = async (ctx: Parameters<Parameters<QueueHarness['worker']>[1]>[0]) => {
      started.push(ctx.attempt);
      if (ctx.attempt === 1) {
        // A step that blocks past the 1000 ms lock: BullMQ cannot renew it, the other worker's
        // stalled check puts the job back in the queue, and attempt 2 starts while this one runs.
        blockFor(2500);
        if (resumeWhen === 'running') await until(() => started.includes(2), 20_000, 'attempt 2 starting');
        else await until(async () => (await harness.catalogue.get(ctx.id))?.status === 'completed', 20_000, 'attempt 2 completing');
        await ctx.publishProgress(progress);
        staleAborted = ctx.signal.aborted;
      } else if (resumeWhen === 'running') {
        await until(() => firstDone, 20_000, 'attempt 1 ending');
      }
      try {
        await harness.publish(ctx);
        published.push(ctx.attempt);
      } catch (err) {
        refused.push(err);
        throw err;
      } finally {
        if (ctx.attempt === 1) firstDone = true;
      }
      return { modelId: ctx.id, metrics: stubMetrics };
    };
    await harness.worker('worker-a', train);
    await harness.worker('worker-b', train);
    const id = await harness.submitted();

    await until(() => firstDone, 30_000, 'attempt 1 ending');
    await until(async () => (await harness.catalogue.get(id))?.status === 'completed', 20_000, 'the job completing');
    const job = (await harness.catalogue.get(id))!;
    const folder = harness.modelFolder(id);
    const inode = (await stat(folder)).ino;

    expect(started).toEqual([1, 2]);
    // its first refused write stopped the stale attempt
    expect(staleAborted).toBe(true);
    expect(published).toEqual([2]);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(PublicationRefused);
    expect(job).toMatchObject({ status: 'completed', attempts: 2, modelId: id });
    expect(await harness.publishedAttempt(id)).toBe(job.attempts);
    expect((await stat(folder)).ino).toBe(inode);
    const types = await harness.eventTypes(id);
    expect(types.filter((t) => t === 'completed')).toHaveLength(1);
    expect(types.filter((t) => t === 'status:running')).toHaveLength(2);
    // the stale attempt's progress record was refused: no progress event at all
    expect(types).not.toContain('progress');
    // The stale attempt stopped quietly, with a line in its worker's log, and changed nothing.
    await until(() => harness.logs.some((l) => l.msg.startsWith('stale attempt stopped') && l.obj['attempt'] === 1), 10_000, 'the stale attempt logging');
    expect((await stat(folder)).ino).toBe(inode);
    expect((await harness.catalogue.get(id))!).toMatchObject({ status: 'completed', attempts: 2, workerId: job.workerId, progress: null });
  });
});
