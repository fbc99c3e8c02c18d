import type { Redis } from 'ioredis';
import { isTerminalEvent, type JobEvent } from './jobs.js';
import type { Keys } from './redis.js';
import type { StreamEntry, StreamFollower } from './stream-follower.js';

/** An event as stored in its stream and sent over a WebSocket: the event with its stream id. */
export type Stored<E> = E & { id: string };

/**
 * Each job's (and each dataset's) events live in a Redis stream; the stream entry id is the event
 * id. Readers replay after a given id (exclusive) and then follow live entries through the
 * process's StreamFollower (one XREAD BLOCK for every stream watched), which gives late joiners,
 * reconnects and any number of API replicas the same history for free.
 * Events are written only by the catalogues' scripts, in the same step as the change they report
 * and fenced by the attempt (see JobCatalogue, DatasetRecords); this class reads them.
 */
export class EventStreams<E extends { type: string }> {
  constructor(
    private readonly redis: Redis,
    /** The stream of one job or dataset. */
    private readonly streamOf: (id: string) => string,
    /** The event after which nothing more comes. */
    private readonly isTerminal: (event: E) => boolean,
  ) {}

  /** Every event after `since` (exclusive), or from the start. */
  async range(jobId: string, since?: string): Promise<Stored<E>[]> {
    const entries = await this.redis.xrange(this.streamOf(jobId), since ? `(${since}` : '-', '+');
    return entries.map(([id, fields]) => toEvent<E>({ id, fields }));
  }

  /** The id of the last event, or null when there is none yet. */
  async lastId(jobId: string): Promise<string | null> {
    const [last] = await this.redis.xrevrange(this.streamOf(jobId), '+', '-', 'COUNT', 1);
    return last?.[0] ?? null;
  }

  /** Keeps a finished job's history for `seconds` more; it is not trimmed while the job runs. */
  async expire(jobId: string, seconds: number): Promise<void> {
    await this.redis.expire(this.streamOf(jobId), seconds);
  }

  /**
   * Replays from `since` then follows live events until the terminal one or until `signal` aborts,
   * through the process's one stream follower (no Redis connection of its own).
   */
  follow(follower: StreamFollower, id: string, since: string | undefined, signal: AbortSignal): AsyncGenerator<Stored<E>> {
    return follower.follow(this.streamOf(id), { since, signal, decode: toEvent<E>, isEnd: this.isTerminal });
  }
}

/** The jobs' event streams. */
export class JobEvents extends EventStreams<JobEvent> {
  constructor(redis: Redis, keys: Keys) {
    super(redis, (id) => keys.events(id), isTerminalEvent);
  }
}

function toEvent<E>({ id, fields }: StreamEntry): Stored<E> {
  const json = fields[fields.indexOf('e') + 1]!;
  return { ...(JSON.parse(json) as E), id };
}

const maxStreamIdPart = 2n ** 64n - 1n;

/** Whether a string is a Redis stream id ("<ms>-<seq>", each part an unsigned 64-bit number), the form `since` must take. */
export function isEventId(value: string): boolean {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(value);
  return match !== null && BigInt(match[1]!) <= maxStreamIdPart && BigInt(match[2]!) <= maxStreamIdPart;
}
