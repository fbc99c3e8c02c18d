import { once } from 'node:events';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { CancelFlags } from '../queue/cancel.js';
import { JobCatalogue } from '../queue/catalogue.js';
import { JobEvents } from '../queue/events.js';
import { connect, Keys } from '../queue/redis.js';
import { TrainingQueue } from '../queue/training-queue.js';
import { ModelStore } from '../store/models.js';
import { KeyRing } from './keys.js';
import { ModelCache } from './models/predictor.js';

/** Everything the API's routes use, built once per process from the configuration. */
export interface Services {
  config: Config;
  apiKeys: KeyRing;
  redis: Redis;
  catalogue: JobCatalogue;
  events: JobEvents;
  queue: TrainingQueue;
  models: ModelStore;
  modelCache: ModelCache;
  /** A new connection of its own, for a blocking read (one per followed event stream). */
  newReader(): Redis;
  close(): Promise<void>;
}

export async function createServices(config: Config, onRedisError: (err: Error) => void = () => {}): Promise<Services> {
  const apiKeys = await KeyRing.load(config);
  // The API's own commands wait a bounded time: a request fails with 503 rather than waiting out an outage.
  const redis = connect(config.redis.url, { commandTimeout: config.redis.commandTimeoutMs });
  redis.on('error', onRedisError);
  await ready(redis, config.redis.commandTimeoutMs);
  const keys = new Keys(config.redis.prefix);
  const catalogue = new JobCatalogue(redis, keys);
  const events = new JobEvents(redis, keys);
  const cancels = new CancelFlags(redis, keys, config.events.retentionSeconds);
  const queue = new TrainingQueue({ connection: redis, keys, catalogue, events, cancels, retentionSeconds: config.events.retentionSeconds });
  const models = new ModelStore(path.join(config.dataDir, 'models'));
  const modelCache = new ModelCache(models, config.predict.cacheSize);
  let closed: Promise<void> | null = null;
  return {
    config,
    apiKeys,
    redis,
    catalogue,
    events,
    queue,
    models,
    modelCache,
    newReader() {
      const reader = connect(config.redis.url);
      reader.on('error', onRedisError);
      return reader;
    },
    close() {
      closed ??= (async () => {
        modelCache.clear();
        await queue.close();
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closed;
    },
  };
}

/** Waits (a bounded time) for the first connection, so the first requests are not refused as "Redis down". */
async function ready(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await once(redis, 'ready', { signal: AbortSignal.timeout(timeoutMs) }).catch(() => {});
}
