import type { Redis } from 'ioredis';
import { isTerminalEvent, type JobEvent, type StoredEvent } from './jobs.js';
import type { Keys } from './redis.js';

/**
 * Each job's events live in a Redis stream; the stream entry id is the event id. Readers replay
 * with XRANGE after a given id (exclusive) and then follow with XREAD BLOCK, which gives late
 * joiners, reconnects and any number of API replicas the same history for free. Events are written
 * only by the catalogue's scripts, in the same step as the change they report and fenced by the
 * job's attempt (see JobCatalogue); this class reads them.
 */
export class JobEvents {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Every event after `since` (exclusive), or from the start. */
  async range(jobId: string, since?: string): Promise<StoredEvent[]> {
    const entries = await this.redis.xrange(this.keys.events(jobId), since ? `(${since}` : '-', '+');
    return entries.map(toEvent);
  }

  /** Keeps a finished job's history for `seconds` more; it is not trimmed while the job runs. */
  async expire(jobId: string, seconds: number): Promise<void> {
    await this.redis.expire(this.keys.events(jobId), seconds);
  }

  /**
   * Replays from `since` then follows live events until the terminal one or until `signal` aborts.
   * Following blocks a connection, so it uses `reader`, a connection of the caller's own.
   */
  async *follow(reader: Redis, jobId: string, since: string | undefined, signal: AbortSignal): AsyncGenerator<StoredEvent> {
    let last = since ?? '0-0';
    for (const event of await this.range(jobId, since)) {
      yield event;
      last = event.id;
      if (isTerminalEvent(event)) return;
    }
    // A `since` at or past the terminal event: the job is over and nothing more will come.
    if (since !== undefined && last === since && (await this.endsWithTerminal(jobId))) return;
    while (!signal.aborted) {
      const reply = await reader.xread('BLOCK', 2000, 'STREAMS', this.keys.events(jobId), last);
      for (const [, entries] of reply ?? []) {
        for (const entry of entries) {
          const event = toEvent(entry);
          yield event;
          last = event.id;
          if (isTerminalEvent(event)) return;
        }
      }
    }
  }

  private async endsWithTerminal(jobId: string): Promise<boolean> {
    const [lastEntry] = await this.redis.xrevrange(this.keys.events(jobId), '+', '-', 'COUNT', 1);
    return lastEntry !== undefined && isTerminalEvent(toEvent(lastEntry));
  }
}

function toEvent([id, fields]: [string, string[]]): StoredEvent {
  const json = fields[fields.indexOf('e') + 1]!;
  return { ...(JSON.parse(json) as JobEvent), id };
}

const maxStreamIdPart = 2n ** 64n - 1n;

/** Whether a string is a Redis stream id ("<ms>-<seq>", each part an unsigned 64-bit number), the form `since` must take. */
export function isEventId(value: string): boolean {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(value);
  return match !== null && BigInt(match[1]!) <= maxStreamIdPart && BigInt(match[2]!) <= maxStreamIdPart;
}
