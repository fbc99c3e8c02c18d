/**
 * @module Which worker processes are alive and what they train on, for GET /v1/admin/workers (and
 * /readyz's counts). Each worker writes its announcement under its own key with a time to live and
 * renews it on a heartbeat; a worker that dies (no clean exit, no withdraw) drops out of the list
 * when its key expires. A set indexes the keys so that listing needs no SCAN; ids whose key has
 * expired are pruned from it as they are found.
 */
import type { Redis } from 'ioredis';
import type { Keys } from './redis.js';

/** 'warming-up' until the backend's first kernels are compiled (shaders, CUDA's PTX), then 'ready'. */
export type WorkerState = 'warming-up' | 'ready';

/** What a worker says about itself. */
export interface WorkerAnnouncement {
  id: string;
  state: WorkerState;
  /** The training backend it chose (src/nn/backend.ts BackendInfo, less the reason). */
  backend: { name: string; package: string; device: 'gpu' | 'cpu'; adapter?: { vendor: string; architecture: string; description: string } };
  /** When the process started (ISO 8601). */
  startedAt: string;
}

export class WorkerPresence {
  /**
   * @param ttlMs how long a ready worker's announcement lives unless renewed.
   * @param warmUpTtlMs how long a warming-up one lives: compiling the first kernels blocks the
   *   worker's event loop, and with it the heartbeat (CUDA's PTX JIT on an H100: minutes).
   */
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    readonly ttlMs: number,
    readonly warmUpTtlMs: number,
  ) {}

  /** Writes (or renews) the announcement, to live ttlMs (warmUpTtlMs while warming up). */
  async announce(worker: WorkerAnnouncement): Promise<void> {
    const ttl = worker.state === 'warming-up' ? this.warmUpTtlMs : this.ttlMs;
    await this.redis.multi().set(this.keys.worker(worker.id), JSON.stringify(worker), 'PX', ttl).sadd(this.keys.workers, worker.id).exec();
  }

  /** Removes the announcement at once (a clean exit). */
  async withdraw(id: string): Promise<void> {
    await this.redis.multi().del(this.keys.worker(id)).srem(this.keys.workers, id).exec();
  }

  /** The workers whose announcement has not expired, by id. */
  async live(): Promise<WorkerAnnouncement[]> {
    const ids = (await this.redis.smembers(this.keys.workers)).sort();
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.keys.worker(id)));
    const gone = ids.filter((_, i) => values[i] === null);
    if (gone.length > 0) await this.redis.srem(this.keys.workers, ...gone);
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as WorkerAnnouncement);
  }
}

/**
 * Announces `current()` now and every intervalMs until stopped (stop withdraws it). A failed renewal
 * is reported and retried on the next beat: a Redis outage must not stop the worker.
 */
export async function heartbeat(
  presence: WorkerPresence,
  current: () => WorkerAnnouncement,
  intervalMs: number,
  onError: (err: Error) => void,
): Promise<{ beat(): Promise<void>; stop(): Promise<void> }> {
  const beat = () => presence.announce(current()).catch(onError);
  await beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return {
    beat,
    async stop() {
      clearInterval(timer);
      await presence.withdraw(current().id).catch(onError);
    },
  };
}
