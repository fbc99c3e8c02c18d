import type { Queue } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobCatalogue } from '../../src/queue/catalogue.js';
import { PrivateRedis } from '../helpers/redis.js';
import { QueueHarness, stubMetrics, until } from '../helpers/queue.js';

let harness: QueueHarness;
let redis: PrivateRedis | null = null;
afterEach(async () => {
  await harness.close();
  await redis?.destroy();
  redis = null;
});

/** The BullMQ queue inside the TrainingQueue: the seam where a failure is injected. */
const bullQueue = (h: QueueHarness) => (h.queue as unknown as { queue: Queue }).queue;
const completes = (h: QueueHarness) => h.worker('worker', async () => ({ modelId: 'm', metrics: stubMetrics }));

describe('TrainingQueue.submit', () => {
  it('holds the queued-jobs quota under 30 concurrent submissions: exactly 5 of 30 recorded', async () => {
    harness = await QueueHarness.start('quota');
    const results = await Promise.all(Array.from({ length: 30 }, () => harness.submit('alice', 5)));
    expect(results.filter((r) => 'record' in r)).toHaveLength(5);
    expect(results.filter((r) => 'limited' in r)).toHaveLength(25);
    expect((await harness.catalogue.counts('alice')).queued).toBe(5);
    expect((await harness.queue.depth()).waiting).toBe(5);
    // another tenant's quota is its own
    expect('record' in (await harness.submit('bob', 5))).toBe(true);
  });

  it('a failed enqueue undoes the record: the caller is told, and nothing is left queued without a queue job', async () => {
    harness = await QueueHarness.start('enqueue-fails');
    vi.spyOn(bullQueue(harness), 'add').mockRejectedValueOnce(new Error('READONLY You can\'t write against a read only replica.'));
    const result = await harness.queue.submit({ network: { layers: [] }, dataset: 'digits' }, { tenant: 'alice', maxQueued: 5, idempotencyKey: 'k-1' });
    expect(result).toEqual({ unavailable: expect.stringContaining('READONLY') });
    expect(await harness.catalogue.counts('alice')).toEqual({ queued: 0, running: 0, paused: 0, completed: 0, failed: 0, cancelled: 0 });
    expect(await harness.connection.keys(`${harness.keys.prefix}:job:*`)).toEqual([]);
    expect(await harness.connection.keys(`${harness.keys.prefix}:events:*`)).toEqual([]);
    // the idempotency key was freed: the retry creates the job, and it runs
    const retry = await harness.queue.submit({ network: { layers: [] }, dataset: 'digits' }, { tenant: 'alice', maxQueued: 5, idempotencyKey: 'k-1' });
    expect(retry).toMatchObject({ created: true, record: { status: 'queued' } });
    await completes(harness);
    const id = 'record' in retry ? retry.record.id : '';
    await until(async () => (await harness.catalogue.get(id))?.status === 'completed');
  });

  it('when the undo fails too, the record stays queued and the sweeper queues it: the job runs', async () => {
    harness = await QueueHarness.start('sweeper');
    vi.spyOn(bullQueue(harness), 'add').mockRejectedValueOnce(new Error('connection lost'));
    vi.spyOn(harness.catalogue, 'remove').mockRejectedValueOnce(new Error('connection lost'));
    const result = await harness.submit();
    if (!('record' in result)) throw new Error('expected the job to be kept');
    const id = result.record.id;
    expect(await bullQueue(harness).getJob(id)).toBeUndefined();
    // a young record may still be in its submit: left alone
    expect(await harness.queue.sweepOrphans(60_000)).toEqual([]);
    expect(await harness.queue.sweepOrphans(0)).toEqual([id]);
    // a job already in the queue is not queued twice
    expect(await harness.queue.sweepOrphans(0)).toEqual([]);
    await completes(harness);
    await until(async () => (await harness.catalogue.get(id))?.status === 'completed');
    expect(await harness.eventTypes(id)).toEqual(['status:queued', 'status:running', 'completed']);
  });

  it('a job recorded running that BullMQ no longer holds (failed after too many stalls) is failed with a sentence; one BullMQ holds is left alone', async () => {
    harness = await QueueHarness.start('lost');
    const [lost, held] = await Promise.all([harness.submit(), harness.submit()]);
    if (!('record' in lost) || !('record' in held)) throw new Error('expected both jobs to be queued');
    for (const { record } of [lost, held]) expect(await harness.catalogue.transition(record.id, ['queued'], 'running', { workerId: 'w1' })).toMatchObject({ ok: true });
    // What BullMQ does to a job whose workers died under it more than maxStalledCount times: fail it, and with removeOnFail remove it.
    await bullQueue(harness).remove(lost.record.id);
    expect(await harness.queue.failLost()).toEqual([lost.record.id]);
    expect(await harness.catalogue.get(lost.record.id)).toMatchObject({ status: 'failed', workerId: null, error: { title: 'Worker lost', detail: expect.stringContaining('JOB_MAX_STALLS') } });
    expect((await harness.eventTypes(lost.record.id)).at(-1)).toBe('failed');
    expect((await harness.catalogue.get(held.record.id))?.status).toBe('running');
    // Once failed, it is not failed again.
    expect(await harness.queue.failLost()).toEqual([]);
  });

  it('Redis stopped between recording and queueing: the enqueue waits for it, and the job is queued and runs', async () => {
    redis = await PrivateRedis.start();
    harness = await QueueHarness.start('redis-stops', redis.url);
    const catalogue = harness.catalogue as JobCatalogue;
    const create = catalogue.create.bind(catalogue);
    let restarted: Promise<void> = Promise.resolve();
    vi.spyOn(catalogue, 'create').mockImplementationOnce(async (...args) => {
      const created = await create(...args);
      await redis!.stop();
      restarted = redis!.run();
      return created;
    });
    const result = await harness.submit();
    await restarted;
    if (!('record' in result)) throw new Error(`expected the job to be queued: ${JSON.stringify(result)}`);
    expect((await bullQueue(harness).getJob(result.record.id))?.data).toEqual({ id: result.record.id });
    await completes(harness);
    await until(async () => (await harness.catalogue.get(result.record.id))?.status === 'completed');
  });
});
