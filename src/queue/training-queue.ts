import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobCatalogue, JobFields } from './catalogue.js';
import type { JobEvents } from './events.js';
import { jobIdTime, newJobId } from './ids.js';
import { terminalStatuses, type JobError, type JobRecord, type JobRequest } from './jobs.js';
import type { Keys } from './redis.js';
import type { StopKind, StopRequests } from './stop-requests.js';
import type { CheckpointStore } from '../store/checkpoints.js';
import type { InitialModelUse } from '../run/initial-model.js';

export const trainingQueueName = 'training';

/** BullMQ states of a job that will still be delivered. */
const waitingStates = new Set<string>(['waiting', 'delayed', 'prioritized', 'waiting-children']);
const requeueWaits = 100;
const requeueWaitMs = 50;

/** What BullMQ carries to a worker: the job id; the request itself lives in the catalogue. */
export interface QueuedJobData {
  id: string;
}

export type SubmitResult =
  | { record: JobRecord; created: boolean }
  | { conflict: 'idempotency-key-reused' }
  | { limited: 'queued-jobs'; queued: number }
  /** Recording or queueing failed, and nothing was kept: the caller may retry. */
  | { unavailable: string };

export interface SubmitOptions {
  tenant: string;
  idempotencyKey?: string;
  /** The most jobs the tenant may have waiting. */
  maxQueued: number;
  /** What the API found of the request's initialModel, for the job's record. */
  initialModel?: InitialModelUse;
}
export type CancelResult =
  | { outcome: 'cancelled' | 'requested'; record: JobRecord }
  | { outcome: 'finished'; record: JobRecord }
  | { outcome: 'not-found' };

export type PauseResult =
  /** Paused now (it was queued), or already. */
  | { outcome: 'paused'; record: JobRecord }
  /** Running: its worker checkpoints it at the next iteration boundary and it becomes paused. */
  | { outcome: 'requested'; record: JobRecord }
  | { outcome: 'finished'; record: JobRecord }
  | { outcome: 'not-found' };

export type ResumeResult =
  /** Back in the queue now. */
  | { outcome: 'resumed'; record: JobRecord }
  /** Queued or running, with no pause pending: nothing to resume (a repeated resume lands here). */
  | { outcome: 'not-paused'; record: JobRecord }
  /** A pause is under way: resume it once it is paused. */
  | { outcome: 'pausing'; record: JobRecord }
  | { outcome: 'finished'; record: JobRecord }
  | { outcome: 'not-found' };

export interface TrainingQueueDeps {
  connection: Redis;
  keys: Keys;
  catalogue: JobCatalogue;
  events: JobEvents;
  stops: StopRequests;
  /** A job cancelled while queued or paused loses its checkpoints here (no worker runs it to delete them). */
  checkpoints: Pick<CheckpointStore, 'newestIteration' | 'deleteAll'>;
  retentionSeconds: number;
  /** How often this process queues jobs recorded but never queued (see submit) and fails the running ones BullMQ gave up on (failLost); 0: never. */
  orphanSweepMs?: number;
}

/** The API's side of the queue: submit, cancel, pause and resume, and how deep the queue is. */
export class TrainingQueue {
  private readonly queue: Queue<QueuedJobData>;
  private readonly sweeper: NodeJS.Timeout | null;

  constructor(private readonly deps: TrainingQueueDeps) {
    this.queue = new Queue<QueuedJobData>(trainingQueueName, { connection: deps.connection, prefix: deps.keys.prefix });
    const every = deps.orphanSweepMs ?? 30_000;
    // A failed sweep (Redis away) is retried at the next tick; the orphans wait in the catalogue.
    this.sweeper = every > 0 ? setInterval(() => void this.sweepOrphans(every).then(() => this.failLost()).catch(() => {}), every).unref() : null;
  }

  /**
   * Records and queues a job for a tenant. With an idempotency key, a repeat of the same request
   * returns the first job; the same key with a different request is a conflict.
   */
  async submit(request: JobRequest, { tenant, idempotencyKey, maxQueued, initialModel }: SubmitOptions): Promise<SubmitResult> {
    const id = newJobId();
    const key = idempotencyKey ? this.deps.keys.idempotency(tenant, idempotencyKey) : null;
    if (key) {
      const fingerprint = createHash('sha256').update(JSON.stringify(request)).digest('hex');
      const claimed = await this.deps.connection.set(key, `${id} ${fingerprint}`, 'EX', 86_400, 'NX');
      if (!claimed) {
        const [existingId, existingPrint] = ((await this.deps.connection.get(key)) ?? '').split(' ');
        if (existingPrint !== fingerprint) return { conflict: 'idempotency-key-reused' };
        const record = await this.waitForRecord(existingId!);
        if (record) return { record, created: false };
      }
    }
    // The model is saved under the job's id: one id to follow from a job to its model.
    const created = await this.deps.catalogue.create(id, request, new Date(), tenant, maxQueued, id, initialModel ?? null);
    // A request that left no job frees its idempotency key, so a retry with the key can succeed.
    const release = async () => {
      if (key) await this.deps.connection.del(key).catch(() => 0);
    };
    if (!created.ok) {
      await release();
      return { limited: 'queued-jobs', queued: created.queued };
    }
    // Record first, then queue: a worker handed the id must find the record. The two cannot be one
    // Redis step (BullMQ's add is its own script), so a failed add undoes the record and the caller
    // answers 503 with nothing kept. If the undo fails as well (Redis went away between the steps),
    // the record stays queued and sweepOrphans, which every API process runs, queues it later:
    // the job id is BullMQ's job id, so adding it again is a no-op once it is in the queue, and the
    // job is never lost.
    try {
      await this.enqueue(id);
    } catch (err) {
      const undone = await this.deps.catalogue.remove(id, tenant).then(
        () => true,
        () => false,
      );
      if (undone) {
        await release();
        return { unavailable: err instanceof Error ? err.message : String(err) };
      }
    }
    return { record: created.record, created: true };
  }

  /**
   * Queues every job the catalogue holds as queued for longer than `minAgeMs` (ids carry their
   * creation time) that has no job in BullMQ: the ones whose submit failed between recording and
   * queueing. Returns the ids queued again.
   */
  async sweepOrphans(minAgeMs: number, now = Date.now()): Promise<string[]> {
    const ids = await this.deps.connection.zrange(this.deps.keys.jobs('queued'), 0, -1);
    const requeued: string[] = [];
    for (const id of ids) {
      if (now - jobIdTime(id) < minAgeMs || (await this.queue.getJob(id))) continue;
      // A cancel may have moved it on since the listing; only a job still queued goes back.
      if ((await this.deps.catalogue.get(id))?.status !== 'queued') continue;
      await this.enqueue(id);
      requeued.push(id);
    }
    return requeued;
  }

  /**
   * Fails every job the catalogue holds as running that has no job in BullMQ. A job is recorded
   * running only while BullMQ holds it (a worker records the end, a hand-back or a pause before
   * BullMQ lets it go), so such a job is one BullMQ gave up on: its workers died under it more
   * than JOB_MAX_STALLS times and BullMQ failed it (and removed it, removeOnFail). Without this it
   * would read `running` for ever. The move is fenced on the status: a worker that ended the job
   * in the meantime wins. Returns the ids failed.
   */
  async failLost(): Promise<string[]> {
    const { catalogue, connection, keys } = this.deps;
    const failed: string[] = [];
    for (const id of await connection.zrange(keys.jobs('running'), 0, -1)) {
      if (await this.queue.getJob(id)) continue;
      const error: JobError = {
        title: 'Worker lost',
        detail: `the workers running this job stopped during it more times than allowed (JOB_MAX_STALLS), so it was not started again: it may make a worker crash (for example by running out of memory); try a smaller miniBatchSize or network`,
      };
      const moved = await catalogue.transition(id, ['running'], 'failed', { error, workerId: null, finishedAt: new Date().toISOString() }, { event: { type: 'failed', error } });
      if (!moved.ok) continue;
      await this.endedHere(id);
      failed.push(id);
    }
    return failed;
  }

  /** A job this process ended (no worker will): its checkpoints go, and its history's retention clock starts. */
  private async endedHere(id: string): Promise<void> {
    await this.deps.checkpoints.deleteAll(id).catch(() => {});
    await this.deps.events.expire(id, this.deps.retentionSeconds);
  }

  private async enqueue(id: string): Promise<void> {
    await this.queue.add('train', { id }, { jobId: id, removeOnComplete: true, removeOnFail: true, attempts: 1 });
  }

  /**
   * A queued or paused job is cancelled at once and never starts again (its checkpoints go); a
   * running one is asked to stop (its worker stops within one iteration and marks it cancelled); a
   * finished one cannot be cancelled.
   */
  cancel(id: string): Promise<CancelResult> {
    const { catalogue } = this.deps;
    return this.stop(id, 'cancel', { cancelRequested: true }, async (asked) => {
      const moved = await catalogue.transition(id, ['queued', 'paused'], 'cancelled', { finishedAt: new Date().toISOString(), pauseRequested: false }, { event: { type: 'cancelled' } });
      if (moved.ok) {
        await this.queue.remove(id).catch(() => 0);
        await this.endedHere(id);
        return { outcome: 'cancelled', record: (await catalogue.get(id))! };
      }
      if (moved.current === null) return { outcome: 'not-found' };
      if (moved.current === 'running') return null;
      const record = (await catalogue.get(id))!;
      // Cancelled after this request asked (its worker landed it): this request's doing.
      return { outcome: asked && record.status === 'cancelled' ? 'cancelled' : 'finished', record };
    });
  }

  /**
   * A queued job is paused at once (it leaves BullMQ); a running one is asked to pause: its worker
   * checkpoints it at the next iteration boundary, leaves it paused and takes other work. A paused
   * job keeps its checkpoints until it is resumed or cancelled. Pausing a paused job changes nothing.
   */
  pause(id: string): Promise<PauseResult> {
    const { catalogue, checkpoints } = this.deps;
    return this.stop(id, 'pause', { pauseRequested: true }, async () => {
      const iteration = await checkpoints.newestIteration(id);
      const moved = await catalogue.transition(id, ['queued'], 'paused', { pauseRequested: false }, { event: { type: 'status', status: 'paused', iteration } });
      if (moved.ok) await this.queue.remove(id).catch(() => 0);
      if (moved.ok || moved.current === 'paused') return { outcome: 'paused', record: (await catalogue.get(id))! };
      if (moved.current === null) return { outcome: 'not-found' };
      if (moved.current === 'running') return null;
      return { outcome: 'finished', record: (await catalogue.get(id))! };
    });
  }

  /**
   * A cancel's or pause's steps. `direct` settles a job no worker runs, or answers null while one
   * does; then the running job is marked (`mark`), its worker is told through the stop flag, and the
   * status is read again. A worker that landed a pause (or handed the job back) in between saw no
   * flag, so the job no longer runs and `direct` takes it; the flag is set before that read and a
   * worker reads it after its move (JobLifecycle), so one of the two always sees the other.
   * `direct` is told whether the worker has been asked already.
   */
  private async stop<R>(id: string, kind: StopKind, mark: JobFields, direct: (asked: boolean) => Promise<R | null>): Promise<R | { outcome: 'requested'; record: JobRecord }> {
    const { catalogue, stops } = this.deps;
    let asked = false;
    for (let tries = 0; tries < 10; tries++) {
      const answer = await direct(asked);
      if (answer) return answer;
      if (!asked) {
        if (!(await catalogue.transition(id, ['running'], 'running', mark)).ok) continue;
        await stops.request(id, kind);
        asked = true;
      }
      const now = await catalogue.get(id);
      if (now?.status === 'running') return { outcome: 'requested', record: now };
    }
    throw new Error(`job ${id} kept changing status; try again`);
  }

  /**
   * Puts a paused job back in the queue; the worker that takes it resumes from its newest
   * checkpoint. A queued or running job is left as it is (so a repeated resume is a no-op), except
   * one still being paused, which must be resumed once paused.
   */
  async resume(id: string): Promise<ResumeResult> {
    const { catalogue, stops } = this.deps;
    const record = await catalogue.get(id);
    if (!record) return { outcome: 'not-found' };
    // Before the move: the worker that takes the resumed job must not find the pause that stopped it.
    if (record.status === 'paused') await stops.withdrawPause(id);
    const moved = await catalogue.transition(id, ['paused'], 'queued', {}, { event: { type: 'status', status: 'queued' } });
    if (moved.ok) {
      await this.requeue(id);
      return { outcome: 'resumed', record: (await catalogue.get(id))! };
    }
    if (moved.current === null) return { outcome: 'not-found' };
    const now = (await catalogue.get(id))!;
    if (terminalStatuses.includes(now.status)) return { outcome: 'finished', record: now };
    return { outcome: now.status === 'running' && now.pauseRequested ? 'pausing' : 'not-paused', record: now };
  }

  /**
   * Queues a resumed job. The BullMQ job that last carried it (same id) may still be finishing on
   * the worker that paused it, and adding while it is there is a no-op: wait for it to go (a few
   * seconds at most; past that, sweepOrphans queues the job).
   */
  private async requeue(id: string): Promise<void> {
    for (let i = 0; i < requeueWaits; i++) {
      const state = await this.queue.getJobState(id);
      if (state === 'unknown') break;
      if (waitingStates.has(state)) return;
      await new Promise((r) => setTimeout(r, requeueWaitMs));
    }
    // A failed add (Redis away) leaves the job queued in the catalogue with nothing in BullMQ: sweepOrphans queues it.
    await this.enqueue(id).catch(() => {});
  }

  async depth(): Promise<{ waiting: number; active: number; delayed: number }> {
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return { waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0), active: counts['active'] ?? 0, delayed: counts['delayed'] ?? 0 };
  }

  /** The BullMQ queue itself, for Bull Board (operators' view of the queue). */
  get bullQueue(): Queue<QueuedJobData> {
    return this.queue;
  }

  /** Worker processes connected to the queue now. */
  async workerCount(): Promise<number> {
    return (await this.queue.getWorkers()).length;
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.queue.close();
  }

  /** A concurrent request with the same key may still be writing the record. */
  private async waitForRecord(id: string): Promise<JobRecord | null> {
    for (let i = 0; i < 40; i++) {
      const record = await this.deps.catalogue.get(id);
      if (record) return record;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  }
}
