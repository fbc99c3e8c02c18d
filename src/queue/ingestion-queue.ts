/**
 * @module The `ingestion` queue: the API adds an uploaded dataset's id, a worker process takes it,
 * starts a fenced attempt in the dataset's record and runs the ingestion handler
 * (src/job-handler/ingestion-handler.ts). BullMQ only carries ids; status lives in DatasetRecords.
 */
import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { UploadStore } from '../store/uploads.js';
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
  /** Aborted when the worker shuts down: the handler stops, stores and records nothing, and the dataset goes back to the queue. */
  signal: AbortSignal;
}

export interface IngestionHandler {
  /** Ingests the dataset and records how it ended (ready or failed); resolves once it is recorded. */
  ingest(ctx: IngestionContext): Promise<void>;
  /** The queue gave up on a dataset (its workers died on it too often): fail it and drop its upload. */
  abandon(id: string): Promise<void>;
}

/** What a dataset whose upload was lost before it was ingested says. */
export const lostUploadFailure = 'the uploaded archive was lost before it could be ingested (the server stopped while storing it): upload it again';

export interface IngestionQueueDeps {
  connection: Redis;
  keys: Keys;
  records: DatasetRecords;
  uploads: UploadStore;
  /** How often this process looks for orphans (see sweepOrphans), and how old one must be; 0: never. */
  orphanSweepMs?: number;
}

export interface SweptOrphans {
  /** Ingesting datasets with no job in the queue, queued again. */
  requeued: string[];
  /** Ingesting datasets with no job and no upload left, failed with lostUploadFailure. */
  failed: string[];
  /** Uploads with no dataset ingesting them (never recorded, or left after it finished), deleted. */
  uploadsDeleted: string[];
}

/** The API's side: queue a recorded dataset for ingestion, and sweep up what a crash between the steps left. */
export class IngestionQueue {
  private readonly queue: Queue<QueuedDataset>;
  private readonly sweeper: NodeJS.Timeout | null;
  /** Uploads seen without an ingesting dataset, and when: deleted only when still so a sweep later. */
  private readonly strayUploads = new Map<string, number>();

  constructor(private readonly deps: IngestionQueueDeps) {
    this.queue = new Queue<QueuedDataset>(ingestionQueueName, { connection: deps.connection, prefix: deps.keys.prefix });
    const every = deps.orphanSweepMs ?? 30_000;
    // A failed sweep (Redis or the store away) is retried at the next tick; the orphans wait.
    this.sweeper = every > 0 ? setInterval(() => void this.sweepOrphans(every).catch(() => {}), every).unref() : null;
  }

  /**
   * The upload route stores the archive, then records the dataset, then queues it; a process that
   * stops between two steps leaves an orphan, and a queue that lost a job (Redis restored from an
   * older snapshot) leaves a dataset ingesting forever. Every API process runs this sweep:
   * a dataset recorded as ingesting for longer than `minAgeMs` with no job in the queue (waiting,
   * active or delayed) is queued again when its upload is there, and failed with a sentence when
   * not; an upload no ingesting dataset needs is deleted once two sweeps at least `minAgeMs`
   * apart have seen it so (one just published waits for its record a moment).
   */
  async sweepOrphans(minAgeMs: number, now = Date.now()): Promise<SweptOrphans> {
    const { records, uploads } = this.deps;
    const swept: SweptOrphans = { requeued: [], failed: [], uploadsDeleted: [] };
    const stored = new Set(await uploads.list());
    for (const id of await records.ingestingIds()) {
      const record = await records.get(id);
      if (!record || record.status !== 'ingesting' || now - Date.parse(record.createdAt) < minAgeMs || (await this.queue.getJob(id))) continue;
      if (stored.has(id)) {
        await this.add(id);
        swept.requeued.push(id);
      } else if (await records.fail(id, null, lostUploadFailure)) swept.failed.push(id);
    }
    for (const id of this.strayUploads.keys()) if (!stored.has(id)) this.strayUploads.delete(id);
    for (const id of stored) {
      if ((await records.get(id))?.status === 'ingesting') {
        this.strayUploads.delete(id);
        continue;
      }
      const seen = this.strayUploads.get(id);
      if (seen === undefined) this.strayUploads.set(id, now);
      else if (now - seen >= minAgeMs) {
        await uploads.delete(id);
        this.strayUploads.delete(id);
        swept.uploadsDeleted.push(id);
      }
    }
    return swept;
  }

  /** The dataset id is BullMQ's job id, so queueing one twice is a no-op. */
  async add(id: string): Promise<void> {
    await this.queue.add('ingest', { id }, { jobId: id, removeOnComplete: true, removeOnFail: true, attempts: 1 });
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
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
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * A worker process's side: one ingestion at a time, beside the training worker. Ingestion awaits
 * between every archive entry and image, so BullMQ renews this lock (and the training job's) on
 * time. A worker shut down mid-ingestion stops it between two images and hands the dataset back
 * to the queue at once; one that dies leaves its lock to lapse, and the dataset goes back to the
 * queue then. Either way a new attempt starts from the upload, which is kept until the dataset is
 * ready or failed; an earlier attempt's writes are fenced.
 */
export class IngestionWorker {
  private readonly worker: Worker<QueuedDataset>;
  private readonly shutdown = new AbortController();

  constructor(private readonly o: IngestionWorkerOptions) {
    this.worker = new Worker<QueuedDataset>(ingestionQueueName, (job, token) => this.process(job, token), {
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
   * Takes no more datasets and stops the one under way between two images (not when it would have
   * finished: that may take minutes); it goes back to the queue for another worker, which ingests
   * it again from its upload.
   */
  async close(): Promise<void> {
    this.shutdown.abort(new Error('the worker is shutting down'));
    await this.worker.close();
  }

  private async process(job: Job<QueuedDataset>, token?: string): Promise<void> {
    const { id } = job.data;
    const { signal } = this.shutdown;
    // Not yet taken: another worker takes it from the start.
    if (signal.aborted) return this.handBack(job, token);
    const taken = await this.o.records.take(id);
    // Deleted, or already ready or failed (a duplicate delivery): nothing to do.
    if (!taken.ok) return;
    const attempt = taken.attempt;
    await this.o.handler.ingest({ id, attempt, holds: () => this.o.records.holds(id, attempt), signal });
    if (signal.aborted && (await this.o.records.holds(id, attempt))) return this.handBack(job, token);
  }

  private async handBack(job: Job<QueuedDataset>, token: string | undefined): Promise<never> {
    await job.moveToWait(token);
    this.o.log.info({ datasetId: job.data.id, workerId: this.o.workerId }, 'ingestion handed back to the queue on shutdown');
    throw new WaitingError();
  }
}
