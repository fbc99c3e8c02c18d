import type { Redis } from 'ioredis';
import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import type { Keys } from '../queue/redis.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Workers push their metrics through Redis and the API serves them with its own: one scrape
 * target whatever the number of workers and hosts, and no port to open on a worker. Each worker
 * writes its registry as JSON under a key of its own that expires after three intervals, and
 * lists itself in a sorted set scored by that expiry; a worker that stops vanishes from /metrics
 * (at once when it shuts down, three intervals after it dies).
 */
export function pushWorkerMetrics(redis: Redis, keys: Keys, workerId: string, registry: Registry, intervalMs: number, beforePush: () => Promise<void>): () => Promise<void> {
  let stopped = false;
  const push = async () => {
    await beforePush();
    const ttl = intervalMs * 3;
    const json = JSON.stringify(await registry.getMetricsAsJSON());
    // Checked after the awaits: a push still gathering when the worker stops must not bring it back.
    if (stopped) return;
    await redis
      .multi()
      .set(keys.workerMetrics(workerId), json, 'PX', ttl)
      .zadd(keys.workerMetricsIndex, Date.now() + ttl, workerId)
      .exec();
  };
  // A push that fails (Redis away) is simply missed: the next one carries the counters' totals.
  const timer = setInterval(() => void push().catch(() => {}), intervalMs);
  void push().catch(() => {});
  // A worker that stops on purpose leaves at once; one that dies leaves when its key expires.
  return async () => {
    stopped = true;
    clearInterval(timer);
    await redis.multi().del(keys.workerMetrics(workerId)).zrem(keys.workerMetricsIndex, workerId).exec().catch(() => {});
  };
}

/** Every live worker's pushed metrics. */
export async function pushedWorkerMetrics(redis: Redis, keys: Keys): Promise<MetricsJson[]> {
  await redis.zremrangebyscore(keys.workerMetricsIndex, '-inf', Date.now());
  const workers = await redis.zrange(keys.workerMetricsIndex, 0, -1);
  if (workers.length === 0) return [];
  const values = await redis.mget(...workers.map((w) => keys.workerMetrics(w)));
  return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as MetricsJson);
}
