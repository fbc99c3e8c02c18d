import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ProgressRecord } from '../nn/train.js';
import type { CancelFlags } from './cancel.js';
import type { JobCatalogue, JobFields } from './catalogue.js';
import type { JobEvents } from './events.js';
import type { JobError, JobEvent, JobMetrics, JobRequest } from './jobs.js';
import type { Keys } from './redis.js';
import { trainingQueueName, type QueuedJobData } from './training-queue.js';

/** What the worker process's training function is given for one job. */
export interface JobContext {
  id: string;
  tenant: string;
  request: JobRequest;
  attempt: number;
  /** Aborts when the job is cancelled, runs out of time, or the worker shuts down; stop within one iteration. */
  signal: AbortSignal;
  /** Whether a model stopped early is kept: only when it ran out of training time. */
  keepStoppedModel(): boolean;
  /**
   * Whether this attempt still owns the job (the latest attempt, still running): the model store
   * asks just before putting the model in place, and a false stops the attempt.
   */
  holds(): Promise<boolean>;
  /** Publishes a progress event and records it as the job's latest progress. */
  publishProgress(record: ProgressRecord): Promise<void>;
  /** Records which backend trains the job, once it is known. */
  setBackend(name: string): Promise<void>;
}

export interface JobOutcome {
  modelId: string;
  metrics: JobMetrics;
}

/** An error whose message and problems are meant for the user: the job fails with them, without retry. */
export class JobFailure extends Error {
  constructor(
    readonly jobError: JobError,
  ) {
    super(jobError.detail);
    this.name = 'JobFailure';
  }
}

export interface QueueWorkerOptions {
  connection: Redis;
  /** A second connection, used only to listen for cancel messages. */
  subscriber: Redis;
  keys: Keys;
  catalogue: JobCatalogue;
  events: JobEvents;
  cancels: CancelFlags;
  workerId: string;
  concurrency: number;
  /** The BullMQ lock on a running job; renewed every half of it while training yields. */
  lockMs: number;
  stalledIntervalMs: number;
  retentionSeconds: number;
  /** Jobs of one tenant trained at once, across all workers; more wait in the queue. */
  runningJobsPerTenant: number;
  /** Training time of one job before it is stopped (and fails, keeping its model). */
  trainingSeconds: number;
  train: (ctx: JobContext) => Promise<JobOutcome>;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** Why a running job was aborted; 'stale' when another attempt owns it now. */
type StopReason = 'cancelled' | 'shutdown' | 'time-limit' | 'stale';

/**
 * The worker's side of the queue: takes jobs from BullMQ one at a time (by default), moves them
 * through the catalogue (running, then completed, failed or cancelled), publishes their events,
 * stops them on a cancel from any API replica, and on shutdown hands the running job back to the
 * queue so another worker starts it again.
 */
export class QueueWorker {
  private readonly worker: Worker<QueuedJobData>;
  private readonly running = new Map<string, AbortController>();
  private closing: Promise<void> | null = null;
  private readonly flagPoll: NodeJS.Timeout;

  constructor(private readonly o: QueueWorkerOptions) {
    if (!Number.isInteger(o.concurrency) || o.concurrency < 1) throw new Error(`concurrency must be a positive integer, not ${o.concurrency}`);
    if (o.lockMs < 1000) throw new Error(`lockMs must be at least 1000, not ${o.lockMs}`);
    if (o.stalledIntervalMs < 500) throw new Error(`stalledIntervalMs must be at least 500, not ${o.stalledIntervalMs}`);
    this.worker = new Worker<QueuedJobData>(trainingQueueName, (job, token) => this.process(job, token), {
      connection: o.connection,
      prefix: o.keys.prefix,
      concurrency: o.concurrency,
      lockDuration: o.lockMs,
      stalledInterval: o.stalledIntervalMs,
      // A job whose worker died goes back to the queue this many times before it fails.
      maxStalledCount: 2,
      name: o.workerId,
      autorun: false,
    });
    this.worker.on('error', (err) => o.log.error({ err: err.message, workerId: o.workerId }, 'queue error'));
    this.worker.on('stalled', (jobId) => o.log.warn({ jobId, workerId: o.workerId }, 'job stalled; it goes back to the queue'));
    // Pub/sub can miss a message across a reconnect; the flag itself is the truth.
    this.flagPoll = setInterval(() => void this.pollCancelFlags(), 1000);
  }

  async start(): Promise<void> {
    await this.o.cancels.listen(this.o.subscriber, (jobId) => this.stop(jobId, 'cancelled'));
    void this.worker.run().catch((err: Error) => this.o.log.error({ err: err.message }, 'worker stopped'));
    await this.worker.waitUntilReady();
  }

  /** Stops taking jobs, stops the running ones within an iteration, requeues them. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.flagPoll);
      for (const id of this.running.keys()) this.stop(id, 'shutdown');
      await this.worker.close();
    })();
    return this.closing;
  }

  private stop(jobId: string, reason: StopReason): void {
    const controller = this.running.get(jobId);
    if (controller && !controller.signal.aborted) controller.abort(reason);
  }

  private async pollCancelFlags(): Promise<void> {
    for (const id of this.running.keys()) {
      if (await this.o.cancels.isRequested(id).catch(() => false)) this.stop(id, 'cancelled');
    }
  }

  private async process(job: Job<QueuedJobData>, token?: string): Promise<void> {
    const { catalogue, workerId, log } = this.o;
    const id = job.data.id;
    const request = await catalogue.request(id);
    if (!request) throw new UnrecoverableError(`job ${id} is not in the catalogue`);
    const started = await catalogue.transition(
      id,
      ['queued', 'running'],
      'running',
      { startedAt: new Date().toISOString(), workerId, progress: null },
      { fence: 'take', runningLimit: this.o.runningJobsPerTenant },
    );
    if (!started.ok && started.limited) {
      // The tenant already has its most jobs running: wait, without counting as an attempt.
      await job.moveToDelayed(Date.now() + 2000, token);
      throw new DelayedError();
    }
    if (!started.ok) {
      log.info({ jobId: id, workerId, status: started.current }, 'job skipped: no longer queued');
      return;
    }
    // From here on every write names this attempt: once another attempt has taken the job, this one's are refused.
    const attempt = started.attempt;
    const tenant = (await catalogue.get(id))!.tenant;
    if (await this.o.cancels.isRequested(id)) {
      await this.finishCancelled(id, attempt);
      return;
    }
    const controller = new AbortController();
    this.running.set(id, controller);
    const record = async (fields: JobFields, event?: JobEvent) => {
      if (!(await catalogue.record(id, attempt, fields, event))) this.stopStale(id, attempt, controller);
    };
    await record({}, { type: 'status', status: 'running' });
    log.info({ jobId: id, workerId, attempt }, 'job started');

    const timeLimit = setTimeout(() => this.stop(id, 'time-limit'), this.o.trainingSeconds * 1000);
    try {
      const outcome = await this.o.train({
        id,
        tenant,
        request,
        keepStoppedModel: () => controller.signal.reason === 'time-limit',
        attempt,
        signal: controller.signal,
        holds: async () => {
          const holds = await catalogue.holds(id, attempt);
          if (!holds) this.stopStale(id, attempt, controller);
          return holds;
        },
        publishProgress: (progress) => record({ progress }, { type: 'progress', ...progress }),
        setBackend: (name) => record({ backend: name }),
      });
      const reason = controller.signal.reason as StopReason | undefined;
      if (reason === 'stale') return;
      if (reason === 'cancelled') return await this.finishCancelled(id, attempt);
      if (reason === 'shutdown') return await this.requeue(job, token, id, attempt);
      if (reason === 'time-limit') {
        const error: JobError = {
          title: 'Training time limit reached',
          detail: `the job trained for ${this.o.trainingSeconds} s, the most allowed (MAX_TRAINING_SECONDS), and was stopped; the model trained so far is kept as ${outcome.modelId}`,
        };
        if (await this.finish(id, attempt, { error, modelId: outcome.modelId, metrics: outcome.metrics }, { type: 'failed', error })) {
          log.warn({ jobId: id, workerId, modelId: outcome.modelId }, 'job stopped at its training time limit');
        }
        return;
      }
      const completed: JobEvent = { type: 'completed', modelId: outcome.modelId, metrics: outcome.metrics };
      if (await this.finish(id, attempt, { modelId: outcome.modelId, metrics: outcome.metrics }, completed)) {
        log.info({ jobId: id, workerId, modelId: outcome.modelId, metrics: outcome.metrics }, 'job completed');
      }
    } catch (err) {
      if (err instanceof WaitingError || err instanceof DelayedError) throw err;
      const reason = controller.signal.reason as StopReason | undefined;
      if (reason === 'stale') return;
      if (reason === 'cancelled') return await this.finishCancelled(id, attempt);
      if (reason === 'shutdown') return await this.requeue(job, token, id, attempt);
      // Only errors meant for users carry their message to the job; anything else is logged here.
      const error: JobError =
        err instanceof JobFailure ? err.jobError : { title: 'Training failed', detail: `training failed unexpectedly on worker ${workerId}; its log has the details` };
      if (!(await this.finish(id, attempt, { error }, { type: 'failed', error }))) return;
      log.warn({ jobId: id, workerId, error: error.detail, err: err instanceof Error ? { message: err.message, stack: err.stack } : err }, 'job failed');
      throw new UnrecoverableError(error.detail);
    } finally {
      clearTimeout(timeLimit);
      // With concurrency above 1, a later attempt of the same job may run on this worker too.
      if (this.running.get(id) === controller) this.running.delete(id);
    }
  }

  /**
   * A write of this attempt was refused: another attempt owns the job (this one's lock lapsed and
   * BullMQ started it again). Stop training within an iteration and write nothing more.
   */
  private stopStale(id: string, attempt: number, controller: AbortController): void {
    if (controller.signal.aborted && controller.signal.reason === 'stale') return;
    this.o.log.warn({ jobId: id, workerId: this.o.workerId, attempt }, 'stale attempt stopped: another attempt owns the job; its writes were refused');
    controller.abort('stale');
  }

  /**
   * Records the job's end with its terminal event in one fenced step, and starts the history's
   * retention clock. False when this attempt no longer owns the job (nothing was written).
   */
  private async finish(id: string, attempt: number, fields: JobFields, event: Extract<JobEvent, { type: 'completed' | 'failed' | 'cancelled' }>): Promise<boolean> {
    const moved = await this.o.catalogue.transition(id, ['running'], event.type, { ...fields, finishedAt: new Date().toISOString() }, { fence: attempt, event });
    if (!moved.ok) {
      this.o.log.warn({ jobId: id, workerId: this.o.workerId, attempt, status: moved.current, outcome: event.type }, 'stale attempt stopped: its end of the job was refused');
      return false;
    }
    await this.o.events.expire(id, this.o.retentionSeconds);
    return true;
  }

  private async finishCancelled(id: string, attempt: number): Promise<void> {
    if (await this.finish(id, attempt, {}, { type: 'cancelled' })) this.o.log.info({ jobId: id, workerId: this.o.workerId }, 'job cancelled');
  }

  /** Hands a job stopped by shutdown back to the queue; another worker starts it from the beginning. */
  private async requeue(job: Job<QueuedJobData>, token: string | undefined, id: string, attempt: number): Promise<void> {
    const moved = await this.o.catalogue.transition(id, ['running'], 'queued', { workerId: null, progress: null }, { fence: attempt, event: { type: 'status', status: 'queued' } });
    // A stale attempt hands nothing back: the job is another attempt's now.
    if (!moved.ok) return;
    await job.moveToWait(token);
    this.o.log.info({ jobId: id, workerId: this.o.workerId }, 'job handed back to the queue on shutdown');
    throw new WaitingError();
  }
}
