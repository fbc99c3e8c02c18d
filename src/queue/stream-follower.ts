import type { Redis } from 'ioredis';

/** One entry of a Redis stream: its id and its field/value list as XRANGE returns them. */
export interface StreamEntry {
  id: string;
  fields: string[];
}

/** How a reader follows one stream: where it starts, how entries read, and which entry is its last. */
export interface FollowOptions<T> {
  /** Entries after this id (exclusive); the whole stream without it. */
  since: string | undefined;
  signal: AbortSignal;
  decode: (entry: StreamEntry) => T;
  /** The stream's final entry (a job's terminal event): following ends after it. */
  isEnd: (item: T) => boolean;
}

export interface StreamFollowerOptions {
  /** The follower's own connection, blocked in XREAD; nothing else may use it. */
  blocking: Redis;
  /** A shared connection for the short commands (XRANGE, XREVRANGE, CLIENT UNBLOCK). */
  commands: Redis;
  /** How long one XREAD blocks when nothing is written (a fallback: a new stream wakes it at once). */
  blockMs?: number;
  /** At most this many entries per stream per XREAD. */
  count?: number;
}

/**
 * One Redis reader for every follower of every stream in this process: a single XREAD BLOCK over
 * all the streams being watched, each at the furthest id read, re-issued (CLIENT UNBLOCK) when a
 * stream is added. Entries are fanned out to the stream's readers in this process.
 *
 * Why XREAD rather than pub/sub: the streams are the source of truth, so a cursor per stream gives
 * no gaps across a Redis reconnect (the next XREAD carries on from the cursor, where a
 * subscription would have dropped what was published meanwhile), writers stay as they are (the
 * catalogue's scripts only XADD, and any other stream, such as a dataset's ingestion events, is
 * followed the same way), and Redis sends nothing to a process that watches nothing.
 *
 * Each reader keeps its own last id: a reader that joins a stream already followed from an earlier
 * id gets the entries in between from XRANGE, and entries at or before its last id are dropped, so
 * it sees every entry once, in order, whenever it joins.
 */
export class StreamFollower {
  private readonly streams = new Map<string, WatchedStream>();
  private readonly blockMs: number;
  private readonly count: number;
  /** Bumped whenever a stream is added: an XREAD issued at an older version lacks a stream. */
  private version = 0;
  /** The version of the XREAD now waiting on Redis, or null when none is. */
  private inFlight: number | null = null;
  private loop: Promise<void> | null = null;
  private waking = false;
  private clientId: number | null = null;
  private closed = false;
  /** Each entry decoded once, whatever the number of its readers (by decoder, as readers name their own). */
  private readonly decoded = new WeakMap<(entry: StreamEntry) => unknown, WeakMap<StreamEntry, unknown>>();

  constructor(private readonly options: StreamFollowerOptions) {
    this.blockMs = options.blockMs ?? 5000;
    this.count = options.count ?? 1000;
    // A reconnected connection has a new client id: fetched again before the next XREAD.
    options.blocking.on('close', () => (this.clientId = null));
  }

  /** Readers following a stream in this process now. */
  get readers(): number {
    let n = 0;
    for (const stream of this.streams.values()) n += stream.readers.size;
    return n;
  }

  /**
   * The stream's entries after `since` then live ones, each once and in order, until the entry
   * `isEnd` accepts (yielded last) or until `signal` aborts. Nothing when `since` is at or past an
   * end entry already written. Readers of one entry share its decoded item: they must not change it.
   */
  async *follow<T>(key: string, options: FollowOptions<T>): AsyncGenerator<T> {
    const { since, signal, decode, isEnd } = options;
    if (since !== undefined && (await this.endedBy(key, since, decode, isEnd))) return;
    const reader = new Reader(since ?? '0-0', signal);
    const joinedAt = this.join(key, reader);
    try {
      // The stream was already followed from further on: fetch what this reader missed before it.
      if (joinedAt !== null && compareIds(joinedAt, reader.last) > 0) {
        const missed = await this.options.commands.xrange(key, `(${reader.last}`, joinedAt);
        reader.release(missed.map(toEntry));
      } else {
        reader.release([]);
      }
      for (;;) {
        const entry = await reader.next();
        if (entry === null) return;
        const item = this.decodeOnce(entry, decode);
        yield item;
        if (isEnd(item)) return;
      }
    } finally {
      this.leave(key, reader);
    }
  }

  private decodeOnce<T>(entry: StreamEntry, decode: (entry: StreamEntry) => T): T {
    let items = this.decoded.get(decode);
    if (!items) this.decoded.set(decode, (items = new WeakMap()));
    if (!items.has(entry)) items.set(entry, decode(entry));
    return items.get(entry) as T;
  }

  /** Stops following everything: readers end, the blocking connection is closed. */
  close(): void {
    this.closed = true;
    for (const stream of this.streams.values()) for (const reader of stream.readers) reader.fail(new Error('the stream follower closed'));
    this.streams.clear();
    this.options.blocking.disconnect();
  }

  /** Whether the stream's last entry is an end at or before `since`: nothing more will come. */
  private async endedBy<T>(key: string, since: string, decode: (entry: StreamEntry) => T, isEnd: (item: T) => boolean): Promise<boolean> {
    const [last] = await this.options.commands.xrevrange(key, '+', '-', 'COUNT', 1);
    return last !== undefined && compareIds(last[0], since) <= 0 && isEnd(decode(toEntry(last)));
  }

  /** Adds the reader; answers the id the stream is already followed from, or null when it is new here. */
  private join(key: string, reader: Reader): string | null {
    if (this.closed) throw new Error('the stream follower is closed');
    const stream = this.streams.get(key);
    if (stream) {
      stream.readers.add(reader);
      return stream.cursor;
    }
    this.streams.set(key, { cursor: reader.last, readers: new Set([reader]) });
    this.version++;
    this.loop ??= this.run().finally(() => (this.loop = null));
    void this.wake();
    return null;
  }

  private leave(key: string, reader: Reader): void {
    const stream = this.streams.get(key);
    if (!stream) return;
    stream.readers.delete(reader);
    // An XREAD still naming the stream is harmless: its entries find no reader here.
    if (stream.readers.size === 0) this.streams.delete(key);
  }

  private async run(): Promise<void> {
    while (!this.closed && this.streams.size > 0) {
      // The streams as this XREAD names them: one dropped and added again meanwhile is another
      // stream here, followed from its new reader's id, and this reply's entries are not its.
      const issued = new Map(this.streams);
      const keys = [...issued.keys()];
      const cursors = [...issued.values()].map((stream) => stream.cursor);
      let reply: [string, [string, string[]][]][] | null;
      try {
        this.clientId ??= Number(await this.options.blocking.client('ID'));
        this.inFlight = this.version;
        reply = (await this.options.blocking.xread('COUNT', this.count, 'BLOCK', this.blockMs, 'STREAMS', ...keys, ...cursors)) as typeof reply;
      } catch (err) {
        if (this.closed) return;
        // Not a lost connection (that waits for Redis to return): fail the readers, who may come back with their last id.
        for (const stream of this.streams.values()) for (const reader of stream.readers) reader.fail(err as Error);
        this.streams.clear();
        return;
      } finally {
        this.inFlight = null;
      }
      for (const [key, entries] of reply ?? []) {
        const stream = this.streams.get(key);
        if (!stream || stream !== issued.get(key)) continue;
        for (const raw of entries) {
          const entry = toEntry(raw);
          if (compareIds(entry.id, stream.cursor) > 0) stream.cursor = entry.id;
          for (const reader of stream.readers) reader.push(entry);
        }
      }
    }
  }

  /**
   * Re-issues the XREAD so that it names every stream: unblocks it while it waits on an older set.
   * An XREAD sent but not yet blocked in Redis cannot be unblocked, so that is tried again shortly.
   */
  private async wake(): Promise<void> {
    if (this.waking) return;
    this.waking = true;
    try {
      for (let delayMs = 2; !this.closed && this.inFlight !== null && this.inFlight < this.version; delayMs = Math.min(delayMs * 2, 200)) {
        const id = this.clientId;
        const unblocked = id === null ? 0 : await this.options.commands.client('UNBLOCK', id, 'TIMEOUT').catch(() => 0);
        if (unblocked === 1) return;
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    } finally {
      this.waking = false;
    }
  }
}

interface WatchedStream {
  /** The furthest id the follower has read from the stream. */
  cursor: string;
  readers: Set<Reader>;
}

/** One follower of a stream: entries wait here until it takes them; held back while it catches up. */
class Reader {
  private readonly queue: StreamEntry[] = [];
  /** Live entries that arrive while the reader fetches what it missed: delivered after those. */
  private held: StreamEntry[] | null = [];
  private wakeUp: (() => void) | null = null;
  private error: Error | null = null;

  constructor(
    /** The last id this reader has been given (or was given before it came). */
    public last: string,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.wakeUp?.(), { once: true });
  }

  push(entry: StreamEntry): void {
    if (this.held) this.held.push(entry);
    else this.accept(entry);
  }

  /** Delivers what the reader missed, then what arrived meanwhile, and lets live entries through. */
  release(missed: StreamEntry[]): void {
    const held = this.held ?? [];
    this.held = null;
    for (const entry of [...missed, ...held]) this.accept(entry);
  }

  fail(error: Error): void {
    this.error = error;
    this.wakeUp?.();
  }

  /** The next entry, or null once the signal aborts. */
  async next(): Promise<StreamEntry | null> {
    for (;;) {
      if (this.signal.aborted) return null;
      if (this.error) throw this.error;
      const entry = this.queue.shift();
      if (entry) return entry;
      await new Promise<void>((resolve) => (this.wakeUp = resolve));
      this.wakeUp = null;
    }
  }

  private accept(entry: StreamEntry): void {
    if (compareIds(entry.id, this.last) <= 0) return;
    this.last = entry.id;
    this.queue.push(entry);
    this.wakeUp?.();
  }
}

function toEntry([id, fields]: [string, string[]]): StreamEntry {
  return { id, fields };
}

/** Orders two stream ids ("<ms>-<seq>", each an unsigned decimal; a caller's may carry leading zeros). */
export function compareIds(a: string, b: string): number {
  const dashA = a.indexOf('-');
  const dashB = b.indexOf('-');
  return compareNumerals(a.slice(0, dashA), b.slice(0, dashB)) || compareNumerals(a.slice(dashA + 1), b.slice(dashB + 1));
}

/** Orders two unsigned decimals of any length without parsing them (ids run past 2^53). */
function compareNumerals(a: string, b: string): number {
  a = a.replace(/^0+(?=\d)/, '');
  b = b.replace(/^0+(?=\d)/, '');
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
