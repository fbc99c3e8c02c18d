import type { Redis } from 'ioredis';
import type { Keys } from './redis.js';

/** Why a user stops a running job: to end it, or to pause it (it checkpoints and leaves its worker). */
export type StopKind = 'cancel' | 'pause';

const stopKinds: readonly StopKind[] = ['cancel', 'pause'];

/** Sets the flag to ARGV[1] unless it already says cancel: a cancel is never turned into a pause. */
const requestScript = `
if redis.call('GET', KEYS[1]) == 'cancel' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
`;

/** Deletes the flag only if it says ARGV[1]. */
const withdrawScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Stop requests that cross machines (cancel, pause): the API sets a flag per job saying which, and
 * publishes it; workers listen on the channel and also look at the flag of the jobs they run (and
 * of each job they take), so a message lost in a reconnect still stops the job. A cancel outranks
 * a pause: a pause asked after a cancel leaves the flag saying cancel.
 */
export class StopRequests {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly ttlSeconds: number,
  ) {}

  async request(jobId: string, kind: StopKind): Promise<void> {
    await this.redis.eval(requestScript, 1, this.keys.stop(jobId), kind, String(this.ttlSeconds));
    await this.redis.publish(this.keys.stopChannel, `${kind} ${jobId}`);
  }

  /** The stop asked for the job, or null. */
  async requested(jobId: string): Promise<StopKind | null> {
    const kind = await this.redis.get(this.keys.stop(jobId));
    return stopKinds.find((k) => k === kind) ?? null;
  }

  /** Clears a pause request (a resumed job must not pause again on its next worker); a cancel stays. */
  async withdrawPause(jobId: string): Promise<void> {
    await this.redis.eval(withdrawScript, 1, this.keys.stop(jobId), 'pause');
  }

  /** Calls `onStop(jobId, kind)` for every stop published; `subscriber` becomes a subscriber-only connection. */
  async listen(subscriber: Redis, onStop: (jobId: string, kind: StopKind) => void): Promise<void> {
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.stopChannel) return;
      const [kind, jobId] = message.split(' ');
      const known = stopKinds.find((k) => k === kind);
      if (known && jobId) onStop(jobId, known);
    });
    await subscriber.subscribe(this.keys.stopChannel);
  }
}
