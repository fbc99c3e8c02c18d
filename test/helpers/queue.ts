import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { JobCatalogue } from '../../src/queue/catalogue.js';
import { JobEvents } from '../../src/queue/events.js';
import type { JobRequest } from '../../src/queue/jobs.js';
import { connect, Keys } from '../../src/queue/redis.js';
import { StopRequests } from '../../src/queue/stop-requests.js';
import { TrainingQueue } from '../../src/queue/training-queue.js';
import { CheckpointStore } from '../../src/store/checkpoints.js';
import type { JobContext, JobOutcome } from '../../src/lifecycle/job-lifecycle.js';
import { QueueWorker, type QueueWorkerOptions } from '../../src/queue/queue-worker.js';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { deletePrefix, uniquePrefix } from './redis.js';

export const stubRequest: JobRequest = { network: { layers: [] }, dataset: 'digits' };
export const stubMetrics = { miniBatchLoss: 0.5, miniBatchAccuracy: 0.75 };

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  msg: string;
  obj: Record<string, unknown>;
}

/**
 * The queue as BullMQ's own tests drive it: a real Redis under a fresh prefix, the API's
 * TrainingQueue, and QueueWorkers whose training is a stub, so every branch runs in milliseconds.
 */
export class QueueHarness {
  readonly logs: LogLine[] = [];
  private readonly connections: Redis[] = [];
  private readonly workers: QueueWorker[] = [];

  private constructor(
    readonly url: string,
    readonly keys: Keys,
    readonly connection: Redis,
    readonly catalogue: JobCatalogue,
    readonly events: JobEvents,
    readonly queue: TrainingQueue,
    readonly modelsDir: string,
    /** The jobs' checkpoints, beside the stand-in models (the API's and the workers' alike). */
    readonly checkpoints: CheckpointStore,
  ) {}

  static async start(name: string, url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'): Promise<QueueHarness> {
    const keys = new Keys(uniquePrefix(name));
    const connection = connect(url);
    connection.on('error', () => {});
    const catalogue = new JobCatalogue(connection, keys);
    const events = new JobEvents(connection, keys);
    const modelsDir = await mkdtemp(path.join(tmpdir(), `trainyard-${name}-`));
    const checkpoints = new CheckpointStore(new FileBlobStore(modelsDir));
    const queue = new TrainingQueue({ connection, keys, catalogue, events, stops: new StopRequests(connection, keys, 60), checkpoints, retentionSeconds: 60, orphanSweepMs: 0 });
    const harness = new QueueHarness(url, keys, connection, catalogue, events, queue, modelsDir, checkpoints);
    harness.connections.push(connection);
    return harness;
  }

  submit(tenant = 'alice', maxQueued = 100) {
    return this.queue.submit(stubRequest, { tenant, maxQueued });
  }

  /** Submits one job and returns its id. */
  async submitted(tenant = 'alice'): Promise<string> {
    const result = await this.submit(tenant);
    if (!('record' in result)) throw new Error(`not submitted: ${JSON.stringify(result)}`);
    return result.record.id;
  }

  /** A started QueueWorker on connections of its own. */
  async worker(workerId: string, train: (ctx: JobContext) => Promise<JobOutcome>, options: Partial<QueueWorkerOptions> = {}): Promise<QueueWorker> {
    const connection = connect(this.url);
    const subscriber = connect(this.url);
    for (const c of [connection, subscriber]) c.on('error', () => {});
    this.connections.push(connection, subscriber);
    const line = (level: LogLine['level']) => (obj: object, msg: string) => void this.logs.push({ level, msg, obj: obj as Record<string, unknown> });
    const worker = new QueueWorker({
      connection,
      subscriber,
      keys: this.keys,
      catalogue: new JobCatalogue(connection, this.keys),
      events: new JobEvents(connection, this.keys),
      stops: new StopRequests(connection, this.keys, 60),
      checkpoints: this.checkpoints,
      workerId,
      concurrency: 1,
      lockMs: 1000,
      stalledIntervalMs: 500,
      maxStalledCount: 2,
      retentionSeconds: 60,
      runningJobsPerTenant: 0,
      trainingSeconds: 60,
      train,
      log: { info: line('info'), warn: line('warn'), error: line('error') },
      ...options,
    });
    await worker.start();
    this.workers.push(worker);
    return worker;
  }

  /** Publishes a stand-in model folder for the job, fenced by the attempt, as the worker's trainer does. */
  async publish(ctx: JobContext): Promise<void> {
    const body = JSON.stringify({ id: ctx.id, attempt: ctx.attempt });
    await new FileBlobStore(this.modelsDir).putSet(ctx.id, [{ name: 'manifest.json', body }], { fence: { attempt: ctx.attempt, holds: ctx.holds } });
  }

  publishedAttempt(id: string): Promise<number> {
    return new FileBlobStore(this.modelsDir).publishedAttempt(id);
  }

  modelFolder(id: string): string {
    return path.join(this.modelsDir, id);
  }

  async eventTypes(id: string): Promise<string[]> {
    return (await this.events.range(id)).map((e) => (e.type === 'status' ? `status:${e.status}` : e.type));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await this.queue.close();
    await deletePrefix(this.url, this.keys.prefix);
    await Promise.all(this.connections.map((c) => c.quit().catch(() => c.disconnect())));
    await rm(this.modelsDir, { recursive: true, force: true });
  }
}

/** Resolves once `check` is true, polling every few milliseconds (an observable condition, not a fixed sleep). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition', everyMs = 5): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolves when the signal aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

/** Blocks this thread, event loop included, as a heavy synchronous step or a long GC pause would: a job's BullMQ lock lapses. */
export function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
