import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressRecord } from '../../src/nn/train.js';
import { QueueHarness, stubMetrics, until } from '../helpers/queue.js';
import { PrivateRedis, RedisClients } from '../helpers/redis.js';
import { Api, seedNetwork, serviceEnv, type ServiceEnv, type Watcher } from '../helpers/service.js';

/**
 * 1,000 WebSocket watchers on one API process, against a Redis of the test's own so its client
 * count is ours alone: the API follows every job's stream on one connection, and every watcher
 * gets every event of its job once, in order. Training is a stub (a real QueueWorker publishing
 * progress through the real catalogue), so the test measures the event path, not tfjs.
 */
const jobs = 10;
const watchersPerJob = 100;
const progressPerJob = 20;

let redis: PrivateRedis;
let harness: QueueHarness;
let env: ServiceEnv;
let api: Api;
let redisClients: RedisClients;
beforeAll(async () => {
  redis = await PrivateRedis.start();
  harness = await QueueHarness.start('watchers', redis.url);
  env = await serviceEnv('watchers', redis.url, {
    REDIS_PREFIX: harness.keys.prefix,
    TENANT_MAX_EVENT_SOCKETS: String(jobs * watchersPerJob),
    HTTP_MAX_CONNECTIONS: String(jobs * watchersPerJob + 100),
    RATE_LIMIT_PER_MINUTE: String(jobs * watchersPerJob * 2),
  });
  api = await Api.start(env.config);
  redisClients = new RedisClients(redis.url);
});
afterAll(async () => {
  redisClients.close();
  await api.close();
  await harness.close();
  await env.cleanup();
  await redis.destroy();
});

const progress = (iteration: number): ProgressRecord => ({
  epoch: 1,
  iteration,
  totalIterations: progressPerJob,
  timeElapsed: iteration / 10,
  miniBatchLoss: 1 / iteration,
  miniBatchAccuracy: 0.5,
  baseLearnRate: 0.01,
  verbose: false,
});

describe(`${jobs * watchersPerJob} watchers on one API process`, () => {
  it('share one Redis follower, and each gets every event of its job exactly once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < jobs; i++) {
      const { status, body } = await api.submit({ network: seedNetwork, dataset: 'digits', options: { maxEpochs: 1 } });
      expect(status).toBe(202);
      ids.push(body.id);
    }
    const idle = await redisClients.count();
    const watchers: { id: string; watcher: Watcher }[] = [];
    for (const id of ids) for (let w = 0; w < watchersPerJob; w++) watchers.push({ id, watcher: api.watch(id) });
    // Every socket has had its history (the queued event) and is now following live.
    await until(() => watchers.every(({ watcher }) => watcher.events.length > 0), 60_000, 'every watcher had the queued event');
    await until(() => api.services.follower.readers === watchers.length, 20_000, 'every watcher following');
    const watching = await redisClients.count();
    console.log(`Redis clients: ${idle} before the watchers, ${watching} with ${watchers.length} watching (the test's own admin connection included)`);
    // The follower is one connection more, whatever the number of sockets.
    expect(watching - idle).toBeLessThanOrEqual(1);

    await harness.worker('stub', async (ctx) => {
      for (let i = 1; i <= progressPerJob; i++) await ctx.publishProgress(progress(i));
      return { modelId: ctx.id, metrics: stubMetrics };
    }, { concurrency: jobs });
    const closes = await Promise.all(watchers.map(({ watcher }) => watcher.closed));
    expect(closes.every((c) => c.code === 1000)).toBe(true);

    const histories = new Map<string, string[]>();
    for (const id of ids) histories.set(id, (await harness.events.range(id)).map((e) => e.id));
    for (const id of ids) expect(histories.get(id)!.length).toBe(2 + progressPerJob + 1);
    for (const { id, watcher } of watchers) expect(watcher.events.map((e) => e.id)).toEqual(histories.get(id));
    expect(api.services.follower.readers).toBe(0);
  });
});
