/**
 * @module The `ingestion` queue: the API adds an uploaded dataset's id, a worker process takes it,
 * starts a fenced attempt in the dataset's record and runs the ingestion handler
 * (src/job-handler/ingestion-handler.ts). BullMQ only carries ids; status lives in DatasetRecords.
 */
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DatasetRecords } from './dataset-records.js';
import type { Keys } from './redis.js';

export const ingestionQueueName = 'ingestion';

interface QueuedDataset {
  id: string;
}

/** One attempt at ingesting a dataset. */
export interface IngestionContext {
  id: string;
  attempt: number;
  /** Whether this attempt still owns the dataset (asked before its shards are put in place). */
  holds(): Promise<boolean>;
}

export interface IngestionHandler {
  /** Ingests the dataset and records how it ended (ready or failed); resolves once it is recorded. */
  ingest(ctx: IngestionContext): Promise<void>;
  /** The queue gave up on a dataset (its workers died on it too often): fail it and drop its upload. */
  abandon(id: string): Promise<void>;
}

/** The API's side: queue a recorded dataset for ingestion. */
export class IngestionQueue {
  private readonly queue: Queue<QueuedDataset>;

  constructor(deps: { connection: Redis; keys: Keys }) {
    this.queue = new Queue<QueuedDataset>(ingestionQueueName, { connection: deps.connection, prefix: deps.keys.prefix });
  }

  /** The dataset id is BullMQ's job id, so queueing one twice is a no-op. */
  async add(id: string): Promise<void> {
    await this.queue.add('ingest', { id }, { jobId: id, removeOnComplete: true, removeOnFail: true, attempts: 1 });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

export interface IngestionWorkerOptions {
  connection: Redis;
  keys: Keys;
  records: DatasetRecords;
  handler: IngestionHandler;
  workerId: string;
  lockMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * A worker process's side: one ingestion at a time, beside the training worker. Ingestion awaits
 * between every archive entry and image, so BullMQ renews this lock (and the training job's) on
 * time. A worker that dies mid-ingestion leaves its lock to lapse: the dataset goes back to the
 * queue and a new attempt starts from the upload, which is kept until the dataset is ready or
 * failed; the dead attempt's writes are fenced.
 */
export class IngestionWorker {
  private readonly worker: Worker<QueuedDataset>;

  constructor(private readonly o: IngestionWorkerOptions) {
    this.worker = new Worker<QueuedDataset>(ingestionQueueName, (job) => this.process(job), {
      connection: o.connection,
      prefix: o.keys.prefix,
      concurrency: 1,
      lockDuration: o.lockMs,
      stalledInterval: o.stalledIntervalMs,
      maxStalledCount: o.maxStalledCount,
      name: `${o.workerId}-ingestion`,
      autorun: false,
    });
    this.worker.on('error', (err) => o.log.error({ err: err.message, workerId: o.workerId }, 'ingestion queue error'));
    this.worker.on('stalled', (id) => o.log.warn({ datasetId: id, workerId: o.workerId }, 'ingestion stalled; it goes back to the queue'));
    // Only BullMQ's own give-up reaches here (the handler records every outcome it sees itself).
    this.worker.on('failed', (job, err) => {
      if (!job) return;
      o.log.error({ datasetId: job.data.id, err: err.message }, 'ingestion abandoned by the queue');
      void o.handler.abandon(job.data.id).catch((e: Error) => o.log.error({ datasetId: job.data.id, err: e.message }, 'could not fail an abandoned dataset'));
    });
  }

  async start(): Promise<void> {
    void this.worker.run().catch((err: Error) => this.o.log.error({ err: err.message }, 'ingestion worker stopped'));
    await this.worker.waitUntilReady();
  }

  /**
   * Stops at once: an ingestion under way is not waited for (it may take minutes); its lock lapses
   * and another worker ingests the dataset again from its upload.
   */
  async close(): Promise<void> {
    await this.worker.close(true);
  }

  private async process(job: Job<QueuedDataset>): Promise<void> {
    const { id } = job.data;
    const taken = await this.o.records.take(id);
    // Deleted, or already ready or failed (a duplicate delivery): nothing to do.
    if (!taken.ok) return;
    const attempt = taken.attempt;
    await this.o.handler.ingest({ id, attempt, holds: () => this.o.records.holds(id, attempt) });
  }
}
