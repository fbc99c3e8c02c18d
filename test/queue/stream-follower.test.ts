import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/queue/redis.js';
import { compareIds, StreamFollower, type StreamEntry } from '../../src/queue/stream-follower.js';
import { deletePrefix, PrivateRedis, uniquePrefix } from '../helpers/redis.js';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Entries are `n` numbers; "end" is the stream's last. */
const decode = (entry: StreamEntry) => ({ id: entry.id, n: entry.fields[1]! });
const isEnd = (item: { n: string }) => item.n === 'end';

function clients(redisUrl: string): { blocking: Redis; commands: Redis } {
  const blocking = connect(redisUrl);
  const commands = connect(redisUrl);
  for (const c of [blocking, commands]) c.on('error', () => {});
  return { blocking, commands };
}

async function collect(follower: StreamFollower, key: string, since?: string, signal = new AbortController().signal): Promise<{ id: string; n: string }[]> {
  const seen = [];
  for await (const item of follower.follow(key, { since, signal, decode, isEnd })) seen.push(item);
  return seen;
}

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('StreamFollower', () => {
  let prefix: string;
  let redis: { blocking: Redis; commands: Redis };
  let follower: StreamFollower;
  beforeEach(() => {
    prefix = uniquePrefix('follower');
    redis = clients(url);
    // A long block: anything that waits for it to time out fails the test's timeout.
    follower = new StreamFollower({ ...redis, blockMs: 60_000 });
  });
  afterEach(async () => {
    follower.close();
    redis.commands.disconnect();
    await deletePrefix(url, prefix);
  });

  it('gives every reader of every stream every entry once, in order, whenever it joins', async () => {
    const keys = [`${prefix}:a`, `${prefix}:b`, `${prefix}:c`];
    const written = new Map<string, string[]>(keys.map((k) => [k, []]));
    const add = async (key: string, n: string) => written.get(key)!.push((await redis.commands.xadd(key, '*', 'n', n)) as string);
    const readers: { key: string; from: string | undefined; reading: Promise<{ id: string; n: string }[]> }[] = [];
    for (let round = 0; round < 20; round++) {
      for (const key of keys) await add(key, String(round));
      // Readers join throughout: from the start, from their stream's latest entry, from one in the middle.
      for (const key of keys) {
        const ids = written.get(key)!;
        for (const from of [undefined, ids.at(-1), ids[Math.floor(ids.length / 2)]]) readers.push({ key, from, reading: collect(follower, key, from) });
      }
    }
    await until(() => follower.readers === readers.length, 'every reader joined');
    for (const key of keys) await add(key, 'end');
    for (const { key, from, reading } of readers) {
      const ids = written.get(key)!;
      expect((await reading).map((e) => e.id)).toEqual(from === undefined ? ids : ids.slice(ids.indexOf(from) + 1));
    }
    expect(follower.readers).toBe(0);
  });

  it('wakes its blocked XREAD for a stream added meanwhile, without waiting for the block to time out', async () => {
    const first = `${prefix}:first`;
    const second = `${prefix}:second`;
    const waiting = collect(follower, first);
    await until(() => follower.readers === 1, 'the first reader joined');
    // Give the XREAD for the first stream time to block in Redis.
    await until(async () => String(await redis.commands.client('LIST')).includes('cmd=xread'), 'the XREAD blocked');
    const late = collect(follower, second);
    await redis.commands.xadd(second, '*', 'n', 'end');
    expect((await late).map((e) => e.n)).toEqual(['end']);
    await redis.commands.xadd(first, '*', 'n', 'end');
    expect((await waiting).map((e) => e.n)).toEqual(['end']);
  });

  it('ends at once, with nothing, when since is at or past the end entry', async () => {
    const key = `${prefix}:over`;
    await redis.commands.xadd(key, '*', 'n', '1');
    const end = (await redis.commands.xadd(key, '*', 'n', 'end')) as string;
    expect(await collect(follower, key, end)).toEqual([]);
    expect(await collect(follower, key, '99999999999999-0')).toEqual([]);
    expect((await collect(follower, key)).map((e) => e.n)).toEqual(['1', 'end']);
  });

  it('stops a reader when its signal aborts, and forgets the stream when none is left', async () => {
    const controller = new AbortController();
    const reading = collect(follower, `${prefix}:aborted`, undefined, controller.signal);
    await until(() => follower.readers === 1, 'the reader joined');
    controller.abort();
    expect(await reading).toEqual([]);
    expect(follower.readers).toBe(0);
  });
});

describe('StreamFollower across a Redis restart', () => {
  it('carries on from each stream where it was: no entry lost or repeated', async () => {
    const redis = await PrivateRedis.start();
    const { blocking, commands } = clients(redis.url);
    const follower = new StreamFollower({ blocking, commands, blockMs: 500 });
    try {
      const key = 'restart:stream';
      const first = (await commands.xadd(key, '*', 'n', '0')) as string;
      const reading = collect(follower, key);
      await until(() => follower.readers === 1, 'the reader joined');
      await redis.stop();
      await redis.run();
      const ids = [first];
      for (const n of ['1', '2', 'end']) ids.push((await commands.xadd(key, '*', 'n', n)) as string);
      expect((await reading).map((e) => e.id)).toEqual(ids);
    } finally {
      follower.close();
      commands.disconnect();
      await redis.destroy();
    }
  });
});

describe('compareIds', () => {
  it('orders stream ids numerically, past 2^53 and with leading zeros', () => {
    expect(compareIds('9-0', '10-0')).toBe(-1);
    expect(compareIds('10-2', '10-10')).toBe(-1);
    expect(compareIds('18446744073709551615-1', '18446744073709551615-0')).toBe(1);
    expect(compareIds('0010-1', '10-1')).toBe(0);
  });
});
