import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CancelFlags } from './cancel.js';
import type { JobCatalogue } from './catalogue.js';
import type { JobEvents } from './events.js';
import { newJobId } from './ids.js';
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
  | { limited: 'queued-jobs'; queued: number };

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
}

/** The API's side of the queue: submit, cancel, and how deep the queue is. */
export class TrainingQueue {
  private readonly queue: Queue<QueuedJobData>;

  constructor(private readonly deps: TrainingQueueDeps) {
    this.queue = new Queue<QueuedJobData>(trainingQueueName, { connection: deps.connection, prefix: deps.keys.prefix });
  }

  /**
   * Records and queues a job for a tenant. With an idempotency key, a repeat of the same request
   * returns the first job; the same key with a different request is a conflict.
   */
  async submit(request: JobRequest, { tenant, idempotencyKey, maxQueued }: SubmitOptions): Promise<SubmitResult> {
    const id = newJobId();
    if (idempotencyKey) {
      const fingerprint = createHash('sha256').update(JSON.stringify(request)).digest('hex');
      const key = this.deps.keys.idempotency(tenant, idempotencyKey);
      const claimed = await this.deps.connection.set(key, `${id} ${fingerprint}`, 'EX', 86_400, 'NX');
      if (!claimed) {
        const [existingId, existingPrint] = ((await this.deps.connection.get(key)) ?? '').split(' ');
        if (existingPrint !== fingerprint) return { conflict: 'idempotency-key-reused' };
        const record = await this.waitForRecord(existingId!);
        if (record) return { record, created: false };
      }
    }
    const queued = (await this.deps.catalogue.counts(tenant)).queued;
    if (queued >= maxQueued) return { limited: 'queued-jobs', queued };
    const record = await this.deps.catalogue.create(id, request, new Date(), tenant);
    await this.deps.events.append(id, { type: 'status', status: 'queued' });
    try {
      await this.queue.add('train', { id }, { jobId: id, removeOnComplete: true, removeOnFail: true, attempts: 1 });
    } catch (err) {
      await this.deps.catalogue
        .transition(id, ['queued'], 'failed', { finishedAt: new Date().toISOString(), error: { title: 'Not queued', detail: 'the job could not be queued' } })
        .catch(() => {});
      throw err;
    }
    return { record, created: true };
  }

  /**
   * A queued job is cancelled at once and never starts; a running one is asked to stop (its worker
   * stops within one iteration and marks it cancelled); a finished one cannot be cancelled.
   */
  async cancel(id: string): Promise<CancelResult> {
    const { catalogue, cancels, events } = this.deps;
    const moved = await catalogue.transition(id, ['queued'], 'cancelled', { finishedAt: new Date().toISOString() });
    if (moved.ok) {
      await cancels.request(id);
      await this.queue.remove(id).catch(() => 0);
      await events.append(id, { type: 'cancelled' });
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

  /** Worker processes connected to the queue now. */
  async workerCount(): Promise<number> {
    return (await this.queue.getWorkers()).length;
  }

  async close(): Promise<void> {
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
