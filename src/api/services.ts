/**
 * @module The API's parts, taken from the composition root (src/composition.ts) for one process.
 */
import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { datasetCatalogue, datasetParts, datasetStore, ingestionQueue, jobParts, modelStore, redisConnection, trainingQueue, uploadStore, workerPresence } from '../composition.js';
import type { Config } from '../config.js';
import type { DatasetCatalogue } from '../data/dataset-catalogue.js';
import type { JobCatalogue } from '../queue/catalogue.js';
import type { JobEvents } from '../queue/events.js';
import { StreamFollower } from '../queue/stream-follower.js';
import { ApiMetrics } from '../metrics/api-metrics.js';
import { pushedWorkerMetrics } from '../metrics/pushed-metrics.js';
import type { TrainingQueue } from '../queue/training-queue.js';
import type { WorkerPresence } from '../queue/worker-presence.js';
import type { ModelStore } from '../store/models.js';
import type { DatasetEvent, DatasetRecords } from '../queue/dataset-records.js';
import type { EventStreams } from '../queue/events.js';
import type { IngestionQueue } from '../queue/ingestion-queue.js';
import type { DatasetStore } from '../store/datasets.js';
import type { UploadStore } from '../store/uploads.js';
import { KeyRing } from './keys.js';
import { ModelCache } from './models/predictor.js';

/** Whether the API's Redis can serve requests: checked before every non-public request and by /readyz. */
export interface Readiness {
  /** Connected now (no round trip): a request is refused at once with 503 while not. */
  connected(): boolean;
  /** Redis's answer to PING. */
  ping(): Promise<string>;
}

/** Everything the API's routes use, built once per process from the configuration. */
export interface Services {
  config: Config;
  apiKeys: KeyRing;
  readiness: Readiness;
  /** Where the rate limiter counts requests (shared by every API replica). */
  rateLimitStore: Redis;
  catalogue: JobCatalogue;
  events: JobEvents;
  queue: TrainingQueue;
  /** The live workers and what they train on (GET /v1/admin/workers; counted in /readyz). */
  workers: WorkerPresence;
  models: ModelStore;
  modelCache: ModelCache;
  datasets: DatasetCatalogue;
  /** Uploaded datasets: their records, ingestion events, the ingestion queue, uploads waiting for it, and the stored sets. */
  datasetRecords: DatasetRecords;
  datasetEvents: EventStreams<DatasetEvent>;
  ingestion: IngestionQueue;
  uploads: UploadStore;
  storedDatasets: DatasetStore;
  metrics: ApiMetrics;
  /** Every live worker's pushed metrics (see src/metrics/pushed-metrics.ts). */
  workerMetrics(): ReturnType<typeof pushedWorkerMetrics>;
  /** The process's one reader of every followed event stream. */
  follower: StreamFollower;
  close(): Promise<void>;
}

export async function createServices(config: Config, onRedisError: (err: Error) => void = () => {}): Promise<Services> {
  const apiKeys = await KeyRing.load(config);
  // The API's own commands wait a bounded time: a request fails with 503 rather than waiting out an outage.
  const redis = redisConnection(config, onRedisError, { commandTimeout: config.redis.commandTimeoutMs });
  await ready(redis, config.redis.commandTimeoutMs);
  const parts = jobParts(config, redis);
  const queue = trainingQueue(config, parts);
  const uploaded = datasetParts(config, redis);
  const uploads = uploadStore(config);
  const ingestion = ingestionQueue(config, redis, { records: uploaded.records, uploads });
  // Its own connection, blocked in XREAD; opened when the first stream is followed.
  const follower = new StreamFollower({ blocking: redisConnection(config, onRedisError, { lazyConnect: true }), commands: redis });
  const metrics = new ApiMetrics({ queueDepth: () => queue.depth(), workerCount: () => queue.workerCount(), watchers: () => follower.readers });
  const models = modelStore(config, metrics.store);
  const modelCache = new ModelCache(models, config.predict.cacheSize);
  let closed: Promise<void> | null = null;
  return {
    config,
    apiKeys,
    readiness: { connected: () => redis.status === 'ready', ping: () => redis.ping() },
    rateLimitStore: redis,
    catalogue: parts.catalogue,
    events: parts.events,
    queue,
    workers: workerPresence(config, redis),
    models,
    modelCache,
    datasets: datasetCatalogue(config),
    datasetRecords: uploaded.records,
    datasetEvents: uploaded.events,
    ingestion,
    uploads,
    storedDatasets: datasetStore(config, metrics.store),
    follower,
    metrics,
    workerMetrics: () => pushedWorkerMetrics(redis, parts.keys),
    close() {
      closed ??= (async () => {
        modelCache.clear();
        follower.close();
        await queue.close();
        await ingestion.close();
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
