/**
 * @module The queue adapter on the worker's side: BullMQ delivers jobs, JobLifecycle (src/lifecycle/job-lifecycle.ts)
 * decides what happens to each, and this turns its verdict into BullMQ's moves.
 */
import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobLifecycle, type JobLifecycleOptions } from '../lifecycle/job-lifecycle.js';
import type { Keys } from './redis.js';
import { trainingQueueName, type QueuedJobData } from './training-queue.js';

export interface QueueWorkerOptions extends JobLifecycleOptions {
  connection: Redis;
  /** A second connection, used only to listen for stop (cancel, pause) messages. */
  subscriber: Redis;
  keys: Keys;
  concurrency: number;
  /** The BullMQ lock on a running job; renewed every half of it while training yields. */
  lockMs: number;
  stalledIntervalMs: number;
  /** Times a job whose worker died (its lock lapsed) goes back to the queue before it fails. */
  maxStalledCount: number;
}

/**
 * Takes jobs from BullMQ one at a time (by default) and runs each through the lifecycle; stops
 * them on a cancel or pause from any API replica (a paused job's BullMQ job completes: resume adds a new one), and on shutdown hands the running ones back to the queue
 * so another worker starts them again.
 */
export class QueueWorker {
  private readonly worker: Worker<QueuedJobData>;
  private readonly lifecycle: JobLifecycle;
  private closing: Promise<void> | null = null;
  private readonly flagPoll: NodeJS.Timeout;

  constructor(private readonly o: QueueWorkerOptions) {
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new Error(`concurrency must be a positive integer, not ${o.concurrency}`);
    if (o.lockMs < 1000) throw new Error(`lockMs must be at least 1000, not ${o.lockMs}`);
    if (o.stalledIntervalMs < 500) throw new Error(`stalledIntervalMs must be at least 500, not ${o.stalledIntervalMs}`);
    this.lifecycle = new JobLifecycle(o);
    this.worker = new Worker<QueuedJobData>(trainingQueueName, (job, token) => this.process(job, token), {
      connection: o.connection,
      prefix: o.keys.prefix,
      concurrency: o.concurrency,
      lockDuration: o.lockMs,
      stalledInterval: o.stalledIntervalMs,
      maxStalledCount: o.maxStalledCount,
      name: o.workerId,
      autorun: false,
    });
    this.worker.on('error', (err) => o.log.error({ err: err.message, workerId: o.workerId }, 'queue error'));
    this.worker.on('stalled', (jobId) => o.log.warn({ jobId, workerId: o.workerId }, 'job stalled; it goes back to the queue'));
    this.flagPoll = setInterval(() => void this.lifecycle.pollStopFlags(), 1000);
  }

  async start(): Promise<void> {
    await this.o.stops.listen(this.o.subscriber, (jobId, kind) => this.lifecycle.stopAsked(jobId, kind));
    void this.worker.run().catch((err: Error) => this.o.log.error({ err: err.message }, 'worker stopped'));
    await this.worker.waitUntilReady();
  }

  /** Stops taking jobs, stops the running ones within an iteration, requeues them. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.flagPoll);
      this.lifecycle.stopAll('shutdown');
      await this.worker.close();
    })();
    return this.closing;
  }

  private async process(job: Job<QueuedJobData>, token?: string): Promise<void> {
    const id = job.data.id;
    const verdict = await this.lifecycle.run(id);
    switch (verdict.kind) {
      case 'done':
        return;
      case 'wait':
        await job.moveToDelayed(verdict.untilMs, token);
        throw new DelayedError();
      case 'requeue':
        await job.moveToWait(token);
        this.o.log.info({ jobId: id, workerId: this.o.workerId }, 'job handed back to the queue on shutdown');
        throw new WaitingError();
      case 'fail':
        throw new UnrecoverableError(verdict.detail);
    }
  }
}
