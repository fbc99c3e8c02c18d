import type { Redis } from 'ioredis';
import type { Keys } from './redis.js';

/**
 * Cancellation that crosses machines: the API sets a flag per job and publishes its id; workers
 * listen on the channel and also look at the flag of the jobs they run, so a message lost in a
 * reconnect still stops the job.
 */
export class CancelFlags {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly ttlSeconds: number,
  ) {}

  async request(jobId: string): Promise<void> {
    await this.redis.set(this.keys.cancel(jobId), '1', 'EX', this.ttlSeconds);
    await this.redis.publish(this.keys.cancelChannel, jobId);
  }

  async isRequested(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.keys.cancel(jobId))) === 1;
  }

  /** Calls `onCancel(jobId)` for every cancel published; `subscriber` becomes a subscriber-only connection. */
  async listen(subscriber: Redis, onCancel: (jobId: string) => void): Promise<void> {
    subscriber.on('message', (channel: string, jobId: string) => {
      if (channel === this.keys.cancelChannel) onCancel(jobId);
    });
    await subscriber.subscribe(this.keys.cancelChannel);
  }
}
