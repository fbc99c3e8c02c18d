import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/queue/jobs.js';
import { digits } from '../helpers/data.js';
import { until } from '../helpers/queue.js';
import { PrivateRedis } from '../helpers/redis.js';
import { Api, seedNetwork } from '../helpers/service.js';
import { Stack } from '../helpers/stack.js';

/**
 * Everything real: a private redis-server, the API, worker child processes training with tfjs on
 * wasm, WebSocket clients. Jobs train on a subset of the digits to keep the suite short.
 */
let redis: PrivateRedis;
let stack: Stack;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  // A short lock makes "a long job is not declared stalled" meaningful: the job runs many lock periods.
  // Every progress record goes out as an event, so the cancel test sees each iteration.
  // Workers are started by each test, as it needs them.
  stack = await Stack.start('e2e', redis.url, { JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000', PROGRESS_INTERVAL_MS: '1' }, 0);
});
afterAll(async () => {
  await stack.stop();
  await redis.destroy();
});

function job(trainImages: number, options: Record<string, unknown>, name = 'e2e') {
  return { name, network: seedNetwork, dataset: { id: 'digits', trainImages }, options: { miniBatchSize: 64, verboseFrequency: 5, seed: 1, ...options } };
}

function assertOrdered(events: StoredEvent[]) {
  const ids = events.map((e) => e.id.split('-').map(Number) as [number, number]);
  for (let i = 1; i < ids.length; i++) {
    const [a, b] = [ids[i - 1]!, ids[i]!];
    expect(b[0] > a[0] || (b[0] === a[0] && b[1] > a[1])).toBe(true);
  }
  const iterations = events.filter((e) => e.type === 'progress').map((e) => (e as { iteration: number }).iteration);
  expect(iterations).toEqual([...iterations].sort((x, y) => x - y));
}

describe('the training service end to end', () => {
  it('trains the seed network: status, progress and completed events in order, then predicts 200 digits over HTTP', async () => {
    const worker = await stack.startWorker();
    const submitted = await stack.api.submit(job(1280, { maxEpochs: 2 }));
    expect(submitted.status).toBe(202);
    const first = stack.api.watch(submitted.body.id);
    expect(await first.closed).toMatchObject({ code: 1000 });
    const types = first.events.map((e) => e.type);
    expect(types.slice(0, 2)).toEqual(['status', 'status']);
    expect(first.events.slice(0, 2).map((e) => (e as { status: string }).status)).toEqual(['queued', 'running']);
    expect(types.at(-1)).toBe('completed');
    expect(types.filter((t) => t === 'progress').length).toBeGreaterThan(5);
    assertOrdered(first.events);
    const lastProgress = first.events.filter((e) => e.type === 'progress').at(-1) as { iteration: number };
    expect(lastProgress.iteration).toBe(40);

    const done = await stack.api.job(submitted.body.id);
    expect(done).toMatchObject({ status: 'completed', modelId: submitted.body.id, backend: 'wasm', attempts: 1, error: null });
    expect(worker.log).not.toContain('stalled');

    const { test } = await digits(10, 200);
    const instances = Array.from({ length: 200 }, (_, i) => Array.from(test.images.subarray(i * 784, (i + 1) * 784)));
    const predicted = await stack.api.json<{ predictions: { label: string }[] }>('POST', `/v1/models/${done.modelId}/predict`, { instances });
    expect(predicted.status).toBe(200);
    const accuracy = predicted.body.predictions.filter((p, i) => p.label === String(test.labels[i])).length / 200;
    expect(accuracy).toBeGreaterThan(0.8);

    const late = stack.api.watch(submitted.body.id);
    expect(await late.closed).toMatchObject({ code: 1000 });
    expect(late.events).toEqual(first.events);
    const resumed = stack.api.watch(submitted.body.id, first.events[3]!.id);
    await resumed.closed;
    expect(resumed.events).toEqual(first.events.slice(4));
  });

  it('never declares a long-running job stalled: its lock is renewed while it trains', async () => {
    const worker = stack.workers[0]!;
    const submitted = await stack.api.submit(job(5000, { maxEpochs: 30 }, 'long-running'));
    const watcher = stack.api.watch(submitted.body.id);
    await watcher.until((e) => e.type === 'status' && (e as { status: string }).status === 'running');
    // five lock periods (JOB_LOCK_MS 2000) of training, with stalled checks every second
    await watcher.until((e) => e.type === 'progress' && (e as { timeElapsed: number }).timeElapsed >= 5 * 2);
    expect(await stack.api.job(submitted.body.id)).toMatchObject({ status: 'running', attempts: 1 });
    // Started once: a stalled job would have gone back to the queue and started again.
    expect(watcher.events.filter((e) => e.type === 'status' && (e as { status: string }).status === 'running')).toHaveLength(1);
    expect(worker.log).not.toMatch(/stalled|could not renew lock/);
    await stack.api.json('DELETE', `/v1/jobs/${submitted.body.id}`);
    await watcher.closed;
  });

  it('cancels a running job within one iteration on the worker that runs it, and a queued one before it starts', async () => {
    // Mini-batches of 512 make an iteration long enough (~0.1 s) to count iterations across a cancel.
    const running = await stack.api.submit(job(5000, { maxEpochs: 5, miniBatchSize: 512 }, 'long'));
    const queued = await stack.api.submit(job(640, { maxEpochs: 1 }, 'behind'));
    const watcher = stack.api.watch(running.body.id);
    await watcher.until((e) => e.type === 'progress' && (e as { iteration: number }).iteration >= 3);
    expect((await stack.api.json('DELETE', `/v1/jobs/${queued.body.id}`)).status).toBe(200);
    const cancel = await stack.api.json<{ cancelRequested: boolean; status: string }>('DELETE', `/v1/jobs/${running.body.id}`);
    const seenAtCancel = Math.max(...watcher.events.filter((e) => e.type === 'progress').map((e) => (e as { iteration: number }).iteration));
    expect(cancel.status).toBe(202);
    expect(cancel.body).toMatchObject({ status: 'running', cancelRequested: true });
    expect(await watcher.closed).toMatchObject({ code: 1000 });
    expect(watcher.events.at(-1)!.type).toBe('cancelled');
    const lastIteration = Math.max(...watcher.events.filter((e) => e.type === 'progress').map((e) => (e as { iteration: number }).iteration));
    // the iteration under way when the cancel arrived may finish, and one more record may be in flight
    expect(lastIteration).toBeLessThanOrEqual(seenAtCancel + 2);
    expect(await stack.api.job(running.body.id)).toMatchObject({ status: 'cancelled', modelId: null });
    expect((await stack.api.json('DELETE', `/v1/jobs/${running.body.id}`)).status).toBe(409);
    // Once the queue holds nothing (the freed worker took the cancelled job and skipped it), it can no longer start.
    await until(async () => {
      const { queue } = (await stack.api.json<{ queue: { waiting: number; active: number } }>('GET', '/v1/admin/workers')).body;
      return queue.waiting === 0 && queue.active === 0;
    });
    expect(await stack.api.job(queued.body.id)).toMatchObject({ status: 'cancelled', attempts: 0, startedAt: null });
  });

  it('picks a job up again when its worker is killed with SIGKILL, and completes it', async () => {
    const submitted = await stack.api.submit(job(5000, { maxEpochs: 3 }, 'killed'));
    const watcher = stack.api.watch(submitted.body.id);
    await watcher.until((e) => e.type === 'progress' && (e as { iteration: number }).iteration >= 3);
    await Promise.all(stack.workers.splice(0).map((w) => w.kill('SIGKILL')));
    await stack.startWorker();
    expect(await watcher.closed).toMatchObject({ code: 1000 });
    expect(watcher.events.at(-1)!.type).toBe('completed');
    expect(watcher.events.filter((e) => e.type === 'status' && (e as { status: string }).status === 'running')).toHaveLength(2);
    expect(await stack.api.job(submitted.body.id)).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('hands the running job back to the queue on SIGTERM; another worker completes it', async () => {
    const submitted = await stack.api.submit(job(5000, { maxEpochs: 3 }, 'shutdown'));
    const watcher = stack.api.watch(submitted.body.id);
    await watcher.until((e) => e.type === 'progress' && (e as { iteration: number }).iteration >= 3);
    const [worker] = stack.workers.splice(0);
    expect(await worker!.kill('SIGTERM')).toBe(0);
    expect(worker!.log).toContain('handed back to the queue');
    await watcher.until((e) => e.type === 'status' && (e as { status: string }).status === 'queued' && e.id !== watcher.events[0]!.id);
    expect((await stack.api.job(submitted.body.id)).status).toBe('queued');
    await stack.startWorker();
    expect(await watcher.closed).toMatchObject({ code: 1000 });
    expect(await stack.api.job(submitted.body.id)).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('keeps a job running through an API restart; a client reconnecting with since misses nothing', async () => {
    const submitted = await stack.api.submit(job(5000, { maxEpochs: 3 }, 'restart'));
    const before = stack.api.watch(submitted.body.id);
    await before.until((e) => e.type === 'progress' && (e as { iteration: number }).iteration >= 3);
    await stack.api.close();
    await before.closed;
    stack.api = await Api.start(stack.env.config);
    const after = stack.api.watch(submitted.body.id, before.events.at(-1)!.id);
    expect(await after.closed).toMatchObject({ code: 1000 });
    const all = [...before.events, ...after.events];
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    assertOrdered(all);
    const full = stack.api.watch(submitted.body.id);
    await full.closed;
    expect(all).toEqual(full.events);
    expect(await stack.api.job(submitted.body.id)).toMatchObject({ status: 'completed', attempts: 1 });
  });
});
