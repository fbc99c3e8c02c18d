import { afterEach, describe, expect, it } from 'vitest';
import type { JobContext } from '../../src/lifecycle/job-lifecycle.js';
import { newJobId } from '../../src/queue/ids.js';
import { aborted, QueueHarness, stubMetrics, stubRequest, until } from '../helpers/queue.js';

let harness: QueueHarness;
afterEach(() => harness.close());

const statusOf = async (id: string) => (await harness.catalogue.get(id))?.status;

describe('QueueWorker branches', () => {
  it("delayed: a job over its tenant's running limit waits in BullMQ's delayed set, not counted as an attempt, and runs when a slot frees", async () => {
    harness = await QueueHarness.start('worker-delayed');
    const release = new Map<string, () => void>();
    const train = (ctx: JobContext) => new Promise<{ modelId: string; metrics: typeof stubMetrics }>((resolve) => release.set(ctx.id, () => resolve({ modelId: ctx.id, metrics: stubMetrics })));
    await harness.worker('worker-a', train, { runningJobsPerTenant: 1 });
    await harness.worker('worker-b', train, { runningJobsPerTenant: 1 });
    const first = await harness.submitted();
    await until(() => release.has(first));
    const second = await harness.submitted();
    await until(async () => (await harness.queue.depth()).delayed === 1, 10_000, 'the second job delayed');
    expect(await harness.catalogue.get(second)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(release.has(second)).toBe(false);
    release.get(first)!();
    await until(() => release.has(second), 10_000, 'the second job starting');
    expect(await harness.catalogue.get(second)).toMatchObject({ status: 'running', attempts: 1 });
    release.get(second)!();
    await until(async () => (await statusOf(second)) === 'completed');
    expect(await harness.eventTypes(second)).toEqual(['status:queued', 'status:running', 'completed']);
  });

  it('time limit: the job is stopped, fails with a sentence, and keeps the model trained so far', async () => {
    harness = await QueueHarness.start('worker-time-limit');
    const kept: boolean[] = [];
    await harness.worker(
      'worker',
      async (ctx) => {
        await aborted(ctx.signal);
        kept.push(ctx.keepStoppedModel());
        return { modelId: ctx.id, metrics: stubMetrics };
      },
      { trainingSeconds: 0.05 },
    );
    const id = await harness.submitted();
    await until(async () => (await statusOf(id)) === 'failed');
    expect(kept).toEqual([true]);
    const job = (await harness.catalogue.get(id))!;
    expect(job).toMatchObject({ modelId: id, metrics: stubMetrics, error: { title: 'Training time limit reached' } });
    expect(job.error!.detail).toContain('MAX_TRAINING_SECONDS');
    expect(await harness.eventTypes(id)).toEqual(['status:queued', 'status:running', 'failed']);
  });

  it("time limit: a resumed attempt has only what earlier attempts left of it (a pause and resume cannot reset it)", async () => {
    harness = await QueueHarness.start('worker-time-limit-resumed');
    const stoppedAfterMs: number[] = [];
    await harness.worker(
      'worker',
      async (ctx) => {
        // A checkpoint with 59.9 of the 60 s behind it: the limit falls about 0.1 s into this attempt, not 60 s.
        await ctx.resumed(5, 59.9);
        const start = performance.now();
        await aborted(ctx.signal);
        stoppedAfterMs.push(performance.now() - start);
        return { modelId: ctx.id, metrics: stubMetrics };
      },
      { trainingSeconds: 60 },
    );
    const id = await harness.submitted();
    await until(async () => (await statusOf(id)) === 'failed', 20_000, 'the job stopped at its limit');
    expect((await harness.catalogue.get(id))!.error).toMatchObject({ title: 'Training time limit reached' });
    expect(stoppedAfterMs[0]).toBeLessThan(20_000);
    expect(await harness.eventTypes(id)).toEqual(['status:queued', 'status:running', 'status:resumed', 'failed']);
  });

  it('requeue: a worker shut down mid-job hands it back; another worker runs it as attempt 2 and completes it', async () => {
    harness = await QueueHarness.start('worker-requeue');
    const attempts: number[] = [];
    const leaving = await harness.worker('worker-leaving', async (ctx) => {
      attempts.push(ctx.attempt);
      await aborted(ctx.signal);
      return { modelId: ctx.id, metrics: stubMetrics };
    });
    const id = await harness.submitted();
    await until(() => attempts.length === 1);
    await leaving.close();
    expect(await harness.catalogue.get(id)).toMatchObject({ status: 'queued', workerId: null, attempts: 1 });
    expect((await harness.queue.depth()).waiting).toBe(1);
    await harness.worker('worker-staying', async (ctx) => {
      attempts.push(ctx.attempt);
      await harness.publish(ctx);
      return { modelId: ctx.id, metrics: stubMetrics };
    });
    await until(async () => (await statusOf(id)) === 'completed');
    expect(attempts).toEqual([1, 2]);
    expect(await harness.catalogue.get(id)).toMatchObject({ attempts: 2, workerId: 'worker-staying' });
    expect(await harness.eventTypes(id)).toEqual(['status:queued', 'status:running', 'status:queued', 'status:running', 'completed']);
  });

  it('cancel: a running job stops and ends cancelled on its worker; a queued one never starts', async () => {
    harness = await QueueHarness.start('worker-cancel');
    const started: string[] = [];
    await harness.worker('worker', async (ctx) => {
      started.push(ctx.id);
      await aborted(ctx.signal);
      return { modelId: ctx.id, metrics: stubMetrics };
    });
    const running = await harness.submitted();
    await until(() => started.length === 1);
    const queued = await harness.submitted();
    expect(await harness.queue.cancel(queued)).toMatchObject({ outcome: 'cancelled', record: { status: 'cancelled' } });
    expect(await harness.queue.cancel(running)).toMatchObject({ outcome: 'requested', record: { status: 'running', cancelRequested: true } });
    await until(async () => (await statusOf(running)) === 'cancelled');
    expect(await harness.eventTypes(running)).toEqual(['status:queued', 'status:running', 'cancelled']);
    expect(await harness.eventTypes(queued)).toEqual(['status:queued', 'cancelled']);
    expect(await harness.queue.cancel(running)).toMatchObject({ outcome: 'finished' });
    expect(started).toEqual([running]);
  });

  it('model id: the handler saves under the id recorded when the job was created, and the job ends naming it', async () => {
    harness = await QueueHarness.start('worker-model-id');
    const given: string[] = [];
    await harness.worker('worker', async (ctx) => {
      given.push(ctx.modelId);
      return { modelId: ctx.modelId, metrics: stubMetrics };
    });
    const id = newJobId();
    expect(await harness.catalogue.create(id, stubRequest, new Date(), 'alice', 100, 'model-of-the-job')).toMatchObject({ ok: true });
    // Queued as the sweeper queues a recorded job that has none in BullMQ.
    await harness.queue.sweepOrphans(0);
    await until(async () => (await statusOf(id)) === 'completed');
    expect(given).toEqual(['model-of-the-job']);
    expect(await harness.catalogue.get(id)).toMatchObject({ modelId: 'model-of-the-job' });
    // A record's planned model id is not one of its public fields.
    expect(Object.keys((await harness.catalogue.get(id))!)).not.toContain('plannedModelId');
  });
});
