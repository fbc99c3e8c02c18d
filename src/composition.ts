/**
 * @module The composition root: the one place that builds trainyard's parts from the configuration.
 * The API (src/api/services.ts), the worker process (workers/worker-process.ts) and the command line
 * (src/cli/) each take the parts they need from here, so a part is wired one way everywhere: the
 * Redis connections and key names, the job catalogue, events and stop requests, the queue (its
 * submitting side and its worker side), the blob store under the model and dataset stores, the dataset
 * catalogue and the training backend.
 */
import type { Redis, RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import { DatasetCatalogue } from './data/dataset-catalogue.js';
import { VerifiedShards } from './data/ingest/verified-shards.js';
import type { JobHandler, JobLifecycleOptions, JobObserver } from './lifecycle/job-lifecycle.js';
import { countedBlobStore, type StoreCounters } from './metrics/store-metrics.js';
import { initBackend, type BackendInfo } from './nn/backend.js';
import { JobCatalogue } from './queue/catalogue.js';
import { JobEvents } from './queue/events.js';
import { QueueWorker } from './queue/queue-worker.js';
import { StopRequests } from './queue/stop-requests.js';
import { connect, Keys } from './queue/redis.js';
import { TrainingQueue } from './queue/training-queue.js';
import { WorkerPresence } from './queue/worker-presence.js';
import type { BlobStore } from './store/blob-store.js';
import { CachedBlobStore } from './store/cached-blob-store.js';
import { DatasetStore } from './store/datasets.js';
import { FileBlobStore } from './store/file-blob-store.js';
import { CheckpointStore } from './store/checkpoints.js';
import { ModelStore } from './store/models.js';
import { S3BlobStore, s3Client } from './store/s3-blob-store.js';
import { UploadStore } from './store/uploads.js';
import { DatasetRecords, isTerminalDatasetEvent, type DatasetEvent } from './queue/dataset-records.js';
import { EventStreams } from './queue/events.js';
import { IngestionQueue, IngestionWorker, type IngestionWorkerOptions } from './queue/ingestion-queue.js';
import { ingestionHandler, type IngestionParts } from './job-handler/ingestion-handler.js';

/** The Redis-backed parts of the job system, all on one connection and under the configured prefix. */
export interface JobParts {
  connection: Redis;
  keys: Keys;
  catalogue: JobCatalogue;
  events: JobEvents;
  stops: StopRequests;
}

/** A connection to the configured Redis, reporting its errors to `onError`. */
export function redisConnection(config: Config, onError: (err: Error) => void, options: RedisOptions = {}): Redis {
  const connection = connect(config.redis.url, options);
  connection.on('error', onError);
  return connection;
}

export function jobParts(config: Config, connection: Redis): JobParts {
  const keys = new Keys(config.redis.prefix);
  return {
    connection,
    keys,
    catalogue: new JobCatalogue(connection, keys),
    events: new JobEvents(connection, keys),
    stops: new StopRequests(connection, keys, config.events.retentionSeconds),
  };
}

/** The queue's submitting side (the API's). */
export function trainingQueue(config: Config, parts: JobParts): TrainingQueue {
  return new TrainingQueue({ ...parts, checkpoints: checkpointStore(config), retentionSeconds: config.events.retentionSeconds });
}

/** The queue's worker side, running each job through `train` under the configured limits. */
export function queueWorker(
  config: Config,
  parts: JobParts,
  worker: { subscriber: Redis; workerId: string; train: JobHandler; log: JobLifecycleOptions['log']; observer?: JobObserver; checkpoints?: CheckpointStore },
): QueueWorker {
  return new QueueWorker({
    ...parts,
    ...worker,
    // The handler's store, when it has one: the lifecycle reads and clears the same checkpoints.
    checkpoints: worker.checkpoints ?? checkpointStore(config),
    concurrency: config.workers.concurrency,
    lockMs: config.workers.lockMs,
    stalledIntervalMs: config.workers.stalledIntervalMs,
    maxStalledCount: config.workers.maxStalledCount,
    retentionSeconds: config.events.retentionSeconds,
    runningJobsPerTenant: config.limits.runningJobsPerTenant,
    trainingSeconds: config.limits.trainingSeconds,
  });
}

/** The live workers' announcements (GET /v1/admin/workers lists them, /readyz counts them): one lives three heartbeats unless renewed (WORKER_WARM_UP_MS while warming up). */
export function workerPresence(config: Config, connection: Redis): WorkerPresence {
  return new WorkerPresence(connection, new Keys(config.redis.prefix), 3 * config.workers.heartbeatMs, config.workers.warmUpMs);
}

/**
 * Where models and datasets are kept: DATA_DIR's folders, or (STORE_URL) an S3-compatible bucket
 * read through a local disk cache, so hosts share no filesystem. `readCache: false` leaves the cache
 * out, for objects read once (an uploaded archive) that would only evict the ones read again.
 */
export function blobStore(config: Config, { readCache = true } = {}): BlobStore {
  const { s3, cache } = config.store;
  if (!s3) return new FileBlobStore(config.dataDir);
  const remote = new S3BlobStore(s3Client(s3), s3.bucket, s3.prefix);
  return readCache && cache.maxBytes > 0 ? new CachedBlobStore(remote, cache) : remote;
}

/** The models, their store's operations counted when the process keeps metrics. */
export function modelStore(config: Config, counters?: StoreCounters): ModelStore {
  return new ModelStore(countedWhenAsked(blobStore(config), counters));
}

/** Running jobs' training checkpoints, in the same blob store as the models (so they work on object storage too). */
export function checkpointStore(config: Config, counters?: StoreCounters): CheckpointStore {
  return new CheckpointStore(countedWhenAsked(blobStore(config), counters), config.checkpoints.kept);
}

/** The uploaded datasets' shards and manifests. */
export function datasetStore(config: Config, counters?: StoreCounters): DatasetStore {
  return new DatasetStore(countedWhenAsked(blobStore(config), counters));
}

function countedWhenAsked(store: BlobStore, counters: StoreCounters | undefined): BlobStore {
  return counters ? countedBlobStore(store, counters) : store;
}

/**
 * Uploaded archives waiting for ingestion, in the same blob store as the datasets (under uploads/),
 * read past the read cache: an archive is read once, and a cached one (up to gigabytes) would
 * evict the model files and dataset shards that are read again and again.
 */
export function uploadStore(config: Config): UploadStore {
  return new UploadStore(blobStore(config, { readCache: false }));
}

/** The Redis side of uploaded datasets: their records and event streams. */
export interface DatasetParts {
  records: DatasetRecords;
  events: EventStreams<DatasetEvent>;
}

export function datasetParts(config: Config, connection: Redis): DatasetParts {
  const keys = new Keys(config.redis.prefix);
  return { records: new DatasetRecords(connection, keys), events: new EventStreams<DatasetEvent>(connection, (id) => keys.datasetEvents(id), isTerminalDatasetEvent) };
}

/** The ingestion queue's submitting side (the API's), sweeping orphaned uploads and datasets. */
export function ingestionQueue(config: Config, connection: Redis, parts: { records: DatasetRecords; uploads: UploadStore }): IngestionQueue {
  return new IngestionQueue({ connection, keys: new Keys(config.redis.prefix), ...parts });
}

/** The ingestion queue's worker side: uploads become stored datasets, under the job lock settings. */
export function ingestionWorker(config: Config, connection: Redis, worker: { workerId: string; log: IngestionWorkerOptions['log'] }): IngestionWorker {
  const { records } = datasetParts(config, connection);
  const handler = ingestionHandler(config, { records, uploads: uploadStore(config), datasets: datasetStore(config), log: worker.log });
  return new IngestionWorker({
    connection,
    keys: new Keys(config.redis.prefix),
    records,
    handler,
    workerId: worker.workerId,
    lockMs: config.workers.lockMs,
    stalledIntervalMs: config.workers.stalledIntervalMs,
    maxStalledCount: config.workers.maxStalledCount,
    log: worker.log,
  });
}

/**
 * The datasets jobs train on, the built-in digits and the stored ones, by id (the API describes
 * them, the worker and the CLI train on them); a process makes one, so its verified shards serve all its jobs.
 */
export function datasetCatalogue(config: Config, store: DatasetStore = datasetStore(config)): DatasetCatalogue {
  return new DatasetCatalogue(store, new VerifiedShards(config.store.verifiedShardBytes));
}

/** The command line's datasets ingested from folders and archives on this machine: DATA_DIR/datasets, never STORE_URL's bucket. */
export function localDatasetStore(config: Config): DatasetStore {
  return DatasetStore.inDataDir(config.dataDir);
}

/** Makes the configured training backend (TRAINYARD_BACKEND, TRAINYARD_THREADS) tfjs's backend, and says which it is. */
export function trainingBackend(config: Config): Promise<BackendInfo> {
  return initBackend(config.backend, { threads: config.threads });
}
