import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CancelFlags } from './cancel.js';
import type { JobCatalogue } from './catalogue.js';
import type { JobEvents } from './events.js';
import { jobIdTime, newJobId } from './ids.js';
import { terminalStatuses, type JobRecord, type JobRequest } from './jobs.js';
import type { Keys } from './redis.js';

export const trainingQueueName = 'training';

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
}
export type CancelResult =
  | { outcome: 'cancelled' | 'requested'; record: JobRecord }
  | { outcome: 'finished'; record: JobRecord }
  | { outcome: 'not-found' };

export interface TrainingQueueDeps {
  connection: Redis;
  keys: Keys;
  catalogue: JobCatalogue;
  events: JobEvents;
  cancels: CancelFlags;
  retentionSeconds: number;
  /** How often this process queues jobs recorded but never queued (see submit); 0: never. */
  orphanSweepMs?: number;
}

/** The API's side of the queue: submit, cancel, and how deep the queue is. */
export class TrainingQueue {
  private readonly queue: Queue<QueuedJobData>;
  private readonly sweeper: NodeJS.Timeout | null;

  constructor(private readonly deps: TrainingQueueDeps) {
    this.queue = new Queue<QueuedJobData>(trainingQueueName, { connection: deps.connection, prefix: deps.keys.prefix });
    const every = deps.orphanSweepMs ?? 30_000;
    // A failed sweep (Redis away) is retried at the next tick; the orphans wait in the catalogue.
    this.sweeper = every > 0 ? setInterval(() => void this.sweepOrphans(every).catch(() => {}), every).unref() : null;
  }

  /**
   * Records and queues a job for a tenant. With an idempotency key, a repeat of the same request
   * returns the first job; the same key with a different request is a conflict.
   */
  async submit(request: JobRequest, { tenant, idempotencyKey, maxQueued }: SubmitOptions): Promise<SubmitResult> {
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
    const created = await this.deps.catalogue.create(id, request, new Date(), tenant, maxQueued, id);
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

  private async enqueue(id: string): Promise<void> {
    await this.queue.add('train', { id }, { jobId: id, removeOnComplete: true, removeOnFail: true, attempts: 1 });
  }

  /**
   * A queued job is cancelled at once and never starts; a running one is asked to stop (its worker
   * stops within one iteration and marks it cancelled); a finished one cannot be cancelled.
   */
  async cancel(id: string): Promise<CancelResult> {
    const { catalogue, cancels, events } = this.deps;
    const moved = await catalogue.transition(id, ['queued'], 'cancelled', { finishedAt: new Date().toISOString() }, { event: { type: 'cancelled' } });
    if (moved.ok) {
      await cancels.request(id);
      await this.queue.remove(id).catch(() => 0);
      await events.expire(id, this.deps.retentionSeconds);
      return { outcome: 'cancelled', record: (await catalogue.get(id))! };
    }
    if (moved.current === null) return { outcome: 'not-found' };
    const record = (await catalogue.get(id))!;
    if (terminalStatuses.includes(record.status)) return { outcome: 'finished', record };
    await catalogue.update(id, { cancelRequested: true });
    await cancels.request(id);
    return { outcome: 'requested', record: { ...record, cancelRequested: true } };
  }

  async depth(): Promise<{ waiting: number; active: number; delayed: number }> {
    const counts = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return { waiting: (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0), active: counts['active'] ?? 0, delayed: counts['delayed'] ?? 0 };
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
