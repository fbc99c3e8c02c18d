/**
 * @module The policy of one job's run, apart from the queue that delivers it (src/queue/queue-worker.ts):
 * take the job in the catalogue (or wait while its tenant runs its most jobs), run the job handler under a
 * time limit, stop it on a cancel, a pause, shutdown or a newer attempt, and record how it ended. It answers the
 * queue adapter with a verdict (done, wait, requeue, fail) that the adapter turns into BullMQ's moves.
 */
import type { ProgressRecord } from '../nn/train.js';
import type { JobCatalogue, JobFields } from '../queue/catalogue.js';
import type { JobEvents } from '../queue/events.js';
import type { StopKind, StopRequests } from '../queue/stop-requests.js';
import type { CheckpointStore, SkippedCheckpoint } from '../store/checkpoints.js';
import type { JobError, JobEvent, JobMetrics, JobRequest, JobStatus } from '../queue/jobs.js';
import { UserProblem } from '../nn/problems.js';

/** What the job handler is given for one job. */
export interface JobContext {
  id: string;
  /** The id its model is saved under: the job's own field, set when the job was created. */
  modelId: string;
  tenant: string;
  request: JobRequest;
  attempt: number;
  /** Aborts when the job is cancelled or paused, runs out of time, or the worker shuts down; stop within one iteration. */
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
  /** The id of the job's last event so far (a checkpoint keeps it), or null. */
  lastEventId(): Promise<string | null>;
  /** The last iteration reported in a progress event after the event `since` (from the start when null); 0 when none. */
  lastReportedIteration(since: string | null): Promise<number>;
  /**
   * Says in the job's events that this attempt resumed from its checkpoint after `iteration`, with
   * `trainedSeconds` of training behind it: they count against the job's MAX_TRAINING_SECONDS.
   * `skipped`: the newer checkpoints passed over because they did not read whole.
   */
  resumed(iteration: number, trainedSeconds: number, skipped?: SkippedCheckpoint[]): Promise<void>;
  /** Says in the job's events that this attempt starts again from iteration 1: none of its checkpoints read whole. */
  restarted(skipped: SkippedCheckpoint[]): Promise<void>;
}

export interface JobOutcome {
  modelId: string;
  metrics: JobMetrics;
  /** Stopped by the signal before its model was saved: a job being paused pauses (one saved already completes). */
  unsaved?: true;
}

export type JobHandler = (ctx: JobContext) => Promise<JobOutcome>;

/**
 * Why the lifecycle aborted a running job (its AbortSignal's reason); 'stale' when another attempt
 * owns it now. How the training itself ended is the engine's StopReason (src/nn/train.ts).
 */
export type AbortReason = 'cancelled' | 'pause' | 'shutdown' | 'time-limit' | 'stale';

/** What the queue is to do with the job after a run. */
export type Verdict =
  | { kind: 'done' }
  /** The tenant already runs its most jobs: try again later, not counted as an attempt. */
  | { kind: 'wait'; untilMs: number }
  /** Stopped by shutdown and handed back in the catalogue: the queue delivers it again. (A paused job is 'done': resume queues it anew.) */
  | { kind: 'requeue' }
  /** Ended for good (recorded as failed, or unknown to the catalogue): never retried. */
  | { kind: 'fail'; detail: string };

/** Told of each job's start, progress and end on this worker (its metrics). */
export interface JobObserver {
  jobStarted(jobId: string): void;
  jobProgressed(jobId: string, iteration: number): void;
  jobEnded(jobId: string, outcome: 'completed' | 'failed' | 'cancelled'): void;
}

export interface JobLifecycleOptions {
  catalogue: JobCatalogue;
  events: JobEvents;
  stops: StopRequests;
  /** The job's checkpoints: a paused job says which it resumes from; one cancelled as it paused loses them. */
  checkpoints: Pick<CheckpointStore, 'newestIteration' | 'deleteAll'>;
  workerId: string;
  retentionSeconds: number;
  /** Jobs of one tenant trained at once, across all workers; more wait in the queue. */
  runningJobsPerTenant: number;
  /** Training time of one job before it is stopped (and fails, keeping its model). */
  trainingSeconds: number;
  train: JobHandler;
  observer?: JobObserver;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** The abort reason each stop request becomes. */
const stopReasons = { cancel: 'cancelled', pause: 'pause' } as const satisfies Record<StopKind, AbortReason>;

/** How long a job over its tenant's running limit waits before it is tried again. */
const tenantLimitWaitMs = 2000;

export class JobLifecycle {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly o: JobLifecycleOptions) {}

  /** The ids of the jobs running here now. */
  runningIds(): string[] {
    return [...this.running.keys()];
  }

  stop(jobId: string, reason: AbortReason): void {
    const controller = this.running.get(jobId);
    if (controller && !controller.signal.aborted) controller.abort(reason);
  }

  /** Stops a running job for a user's cancel or pause. */
  stopAsked(jobId: string, kind: StopKind): void {
    this.stop(jobId, stopReasons[kind]);
  }

  /** Stops every running job (within an iteration); their runs answer 'requeue'. */
  stopAll(reason: AbortReason): void {
    for (const id of this.running.keys()) this.stop(id, reason);
  }

  /** Pub/sub can miss a message across a reconnect; the flag itself is the truth. */
  async pollStopFlags(): Promise<void> {
    for (const id of this.running.keys()) {
      const kind = await this.o.stops.requested(id).catch(() => null);
      if (kind) this.stopAsked(id, kind);
    }
  }

  async run(id: string): Promise<Verdict> {
    const { catalogue, workerId, log } = this.o;
    const work = await catalogue.work(id);
    if (!work) return { kind: 'fail', detail: `job ${id} is not in the catalogue` };
    const started = await catalogue.transition(
      id,
      ['queued', 'running'],
      'running',
      { startedAt: new Date().toISOString(), workerId, progress: null },
      { fence: 'take', runningLimit: this.o.runningJobsPerTenant },
    );
    if (!started.ok && started.limited) return { kind: 'wait', untilMs: Date.now() + tenantLimitWaitMs };
    if (!started.ok) {
      log.info({ jobId: id, workerId, status: started.current }, 'job skipped: no longer queued');
      return { kind: 'done' };
    }
    // From here on every write names this attempt: once another attempt has taken the job, this one's are refused.
    const attempt = started.attempt;
    const tenant = (await catalogue.get(id))!.tenant;
    // A stop asked while it waited (or while its worker died mid-pause) lands now, without training.
    const asked = await this.o.stops.requested(id);
    if (asked === 'cancel') return this.finishCancelled(id, attempt);
    if (asked === 'pause') return this.finishPaused(id, attempt);
    const controller = new AbortController();
    this.running.set(id, controller);
    const record = async (fields: JobFields, event?: JobEvent) => {
      if (!(await catalogue.record(id, attempt, fields, event))) this.stopStale(id, attempt, controller);
    };
    await record({}, { type: 'status', status: 'running' });
    log.info({ jobId: id, workerId, attempt }, 'job started');
    this.o.observer?.jobStarted(id);

    const limitAfter = (seconds: number) => setTimeout(() => this.stop(id, 'time-limit'), Math.max(0, seconds) * 1000);
    let timeLimit = limitAfter(this.o.trainingSeconds);
    /** How a run the signal stopped ends; `outcome` is the handler's when it returned. */
    const stopped = (outcome: JobOutcome | null): Promise<Verdict> | null => {
      const reason = controller.signal.reason as AbortReason | undefined;
      if (reason === 'stale') return Promise.resolve({ kind: 'done' });
      if (reason === 'cancelled') return this.finishCancelled(id, attempt);
      // A pause that came once the model was saved is too late: the job completes.
      if (reason === 'pause' && (!outcome || outcome.unsaved)) return this.finishPaused(id, attempt);
      if (reason === 'shutdown') return this.handBack(id, attempt);
      return null;
    };
    try {
      const outcome = await this.o.train({
        id,
        modelId: work.modelId,
        tenant,
        request: work.request,
        keepStoppedModel: () => controller.signal.reason === 'time-limit',
        attempt,
        signal: controller.signal,
        holds: async () => {
          const holds = await catalogue.holds(id, attempt);
          if (!holds) this.stopStale(id, attempt, controller);
          return holds;
        },
        publishProgress: (progress) => {
          this.o.observer?.jobProgressed(id, progress.iteration);
          return record({ progress }, { type: 'progress', ...progress });
        },
        setBackend: (name) => record({ backend: name }),
        lastEventId: () => this.o.events.lastId(id),
        lastReportedIteration: async (since) =>
          (await this.o.events.range(id, since ?? undefined)).reduce((most, e) => (e.type === 'progress' ? Math.max(most, e.iteration) : most), 0),
        resumed: (iteration, trainedSeconds, skipped = []) => {
          // The limit is the job's, not each attempt's: a resumed run (after a pause, a hand-back, a lost worker) has spent part of it.
          clearTimeout(timeLimit);
          timeLimit = limitAfter(this.o.trainingSeconds - trainedSeconds);
          return record({}, { type: 'status', status: 'resumed', iteration, ...(skipped.length ? { skippedCheckpoints: skipped } : {}) });
        },
        restarted: (skipped) => record({}, { type: 'status', status: 'restarted', skippedCheckpoints: skipped }),
      });
      const early = stopped(outcome);
      if (early) return await early;
      if (controller.signal.reason === 'time-limit') {
        const error: JobError = {
          title: 'Training time limit reached',
          detail: `the job trained for ${this.o.trainingSeconds} s, the most allowed (MAX_TRAINING_SECONDS), and was stopped; the model trained so far is kept as ${outcome.modelId}`,
        };
        if (await this.finish(id, attempt, { error, modelId: outcome.modelId, metrics: outcome.metrics }, { type: 'failed', error })) {
          log.warn({ jobId: id, workerId, modelId: outcome.modelId }, 'job stopped at its training time limit');
        }
        return { kind: 'done' };
      }
      const completed: JobEvent = { type: 'completed', modelId: outcome.modelId, metrics: outcome.metrics };
      if (await this.finish(id, attempt, { modelId: outcome.modelId, metrics: outcome.metrics }, completed)) {
        log.info({ jobId: id, workerId, modelId: outcome.modelId, metrics: outcome.metrics }, 'job completed');
      }
      return { kind: 'done' };
    } catch (err) {
      const early = stopped(null);
      if (early) return await early;
      // Only errors meant for users carry their message to the job; anything else is logged here.
      const error: JobError =
        err instanceof UserProblem ? err.toJobError() : { title: 'Training failed', detail: `training failed unexpectedly on worker ${workerId}; its log has the details` };
      if (!(await this.finish(id, attempt, { error }, { type: 'failed', error }))) return { kind: 'done' };
      log.warn({ jobId: id, workerId, error: error.detail, err: err instanceof Error ? { message: err.message, stack: err.stack } : err }, 'job failed');
      return { kind: 'fail', detail: error.detail };
    } finally {
      clearTimeout(timeLimit);
      // With concurrency above 1, a later attempt of the same job may run on this worker too.
      if (this.running.get(id) === controller) this.running.delete(id);
    }
  }

  /**
   * A write of this attempt was refused: another attempt owns the job (this one's lock lapsed and
   * the queue started it again). Stop training within an iteration and write nothing more.
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
  private async finish(
    id: string,
    attempt: number,
    fields: JobFields,
    event: Extract<JobEvent, { type: 'completed' | 'failed' | 'cancelled' }>,
    from: readonly JobStatus[] = ['running'],
  ): Promise<boolean> {
    const moved = await this.o.catalogue.transition(id, from, event.type, { ...fields, finishedAt: new Date().toISOString() }, { fence: attempt, event });
    if (!moved.ok) {
      this.o.log.warn({ jobId: id, workerId: this.o.workerId, attempt, status: moved.current, outcome: event.type }, 'stale attempt stopped: its end of the job was refused');
      return false;
    }
    this.o.observer?.jobEnded(id, event.type);
    await this.o.events.expire(id, this.o.retentionSeconds);
    return true;
  }

  private async finishCancelled(id: string, attempt: number): Promise<Verdict> {
    if (await this.finish(id, attempt, {}, { type: 'cancelled' })) this.o.log.info({ jobId: id, workerId: this.o.workerId }, 'job cancelled');
    return { kind: 'done' };
  }

  /**
   * Lands a pause in one fenced step: the job becomes paused, off its worker, keeping its
   * checkpoints (the handler leaves them), and says from which iteration a resume goes on. A cancel
   * asked while it paused wins: the flag is read after the move, and TrainingQueue.cancel sets it
   * before it looks at the status, so one of the two always sees the other.
   */
  private async finishPaused(id: string, attempt: number): Promise<Verdict> {
    const { catalogue, checkpoints, workerId, log } = this.o;
    const iteration = await checkpoints.newestIteration(id);
    const moved = await catalogue.transition(id, ['running'], 'paused', { workerId: null, pauseRequested: false }, { fence: attempt, event: { type: 'status', status: 'paused', iteration } });
    if (!moved.ok) return { kind: 'done' };
    log.info({ jobId: id, workerId, iteration }, 'job paused');
    if ((await this.o.stops.requested(id)) === 'cancel' && (await this.finish(id, attempt, {}, { type: 'cancelled' }, ['paused']))) {
      await checkpoints.deleteAll(id).catch((err: unknown) => log.warn({ jobId: id, err: String(err) }, 'checkpoints not deleted'));
      log.info({ jobId: id, workerId }, 'job cancelled');
    }
    return { kind: 'done' };
  }

  /** Hands a job stopped by shutdown back in the catalogue; the queue delivers it again, from the beginning. */
  private async handBack(id: string, attempt: number): Promise<Verdict> {
    const moved = await this.o.catalogue.transition(id, ['running'], 'queued', { workerId: null, progress: null }, { fence: attempt, event: { type: 'status', status: 'queued' } });
    // A stale attempt hands nothing back: the job is another attempt's now.
    return moved.ok ? { kind: 'requeue' } : { kind: 'done' };
  }
}
