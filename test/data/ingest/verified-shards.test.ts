import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShardChecksumError } from '../../../src/data/ingest/shard-reader.js';
import { sha256, type ShardInfo } from '../../../src/data/ingest/shards.js';
import { VerifiedShards, type VersionedObjects } from '../../../src/data/ingest/verified-shards.js';
import { DatasetStore } from '../../../src/store/datasets.js';

/** A VerifiedShards whose hasher counts its calls. */
function counted(maxBytes: number) {
  let hashes = 0;
  const shards = new VerifiedShards(maxBytes, (bytes) => {
    hashes++;
    return sha256(bytes);
  });
  return { shards, hashes: () => hashes };
}

/** Objects in memory whose etag is bumped whenever one is replaced; reads are counted. */
function objects(initial: Record<string, Uint8Array>) {
  const stored = new Map(Object.entries(initial).map(([name, bytes]) => [name, { bytes, etag: 1 }]));
  let reads = 0;
  const versioned: VersionedObjects = {
    head: async (name) => {
      const o = stored.get(name);
      return o ? { key: name, etag: String(o.etag) } : null;
    },
    read: async (name) => {
      reads++;
      const o = stored.get(name);
      if (!o) throw new Error(`no object ${name}`);
      return { key: name, etag: String(o.etag), bytes: o.bytes };
    },
  };
  return {
    versioned,
    reads: () => reads,
    replace: (name: string, bytes: Uint8Array) => stored.set(name, { bytes, etag: stored.get(name)!.etag + 1 }),
  };
}

const shard = (name: string, bytes: Uint8Array): ShardInfo => ({ name, count: bytes.length, bytes: bytes.length, sha256: sha256(bytes) });

describe('VerifiedShards', () => {
  it('reads and hashes a shard once: the second load under the same etag uses the verified bytes', async () => {
    const bytes = Uint8Array.from([1, 2, 3, 4]);
    const store = objects({ a: bytes });
    const { shards, hashes } = counted(1024);
    expect(await shards.load(store.versioned, shard('a', bytes))).toEqual(bytes);
    expect(await shards.load(store.versioned, shard('a', bytes))).toEqual(bytes);
    expect([hashes(), store.reads()]).toEqual([1, 1]);
  });

  it('reads and verifies again a shard whose object was replaced (a new etag)', async () => {
    const store = objects({ a: Uint8Array.from([1, 2, 3]) });
    const { shards, hashes } = counted(1024);
    await shards.load(store.versioned, shard('a', Uint8Array.from([1, 2, 3])));
    // Replaced by other bytes under the same manifest entry: a fresh read fails its checksum, not the cache's copy.
    store.replace('a', Uint8Array.from([9, 9, 9]));
    await expect(shards.load(store.versioned, shard('a', Uint8Array.from([1, 2, 3])))).rejects.toThrow(ShardChecksumError);
    expect([hashes(), store.reads(), shards.bytes]).toEqual([2, 2, 0]);
    // The failure was not kept: nor was the old copy, which that etag no longer names.
    await expect(shards.load(store.versioned, shard('a', Uint8Array.from([1, 2, 3])))).rejects.toThrow(ShardChecksumError);
    expect(hashes()).toBe(3);
    // Replaced again by the right bytes (re-uploaded): verified once more, then kept.
    store.replace('a', Uint8Array.from([1, 2, 3]));
    await shards.load(store.versioned, shard('a', Uint8Array.from([1, 2, 3])));
    await shards.load(store.versioned, shard('a', Uint8Array.from([1, 2, 3])));
    expect(hashes()).toBe(4);
  });

  it('verifies again when the manifest names another checksum for the same object and etag', async () => {
    const store = objects({ a: Uint8Array.from([1, 2, 3]) });
    const { shards, hashes } = counted(1024);
    await shards.load(store.versioned, shard('a', Uint8Array.from([1, 2, 3])));
    await expect(shards.load(store.versioned, shard('a', Uint8Array.from([7, 7, 7])))).rejects.toThrow(ShardChecksumError);
    expect(hashes()).toBe(2);
  });

  it('a missing object fails as before, whatever was kept', async () => {
    const bytes = Uint8Array.from([5]);
    const store = objects({ a: bytes });
    const { shards } = counted(1024);
    await shards.load(store.versioned, shard('a', bytes));
    await expect(shards.load(store.versioned, shard('b', bytes))).rejects.toThrow(/no object b/);
  });

  it('keeps at most maxBytes, the least recently used going first; larger shards and a bound of 0 keep nothing', async () => {
    const bytes = (v: number, n = 400) => new Uint8Array(n).fill(v);
    const store = objects({ a: bytes(1), b: bytes(2), c: bytes(3), big: bytes(4, 2000) });
    const { shards, hashes } = counted(1000);
    for (const name of ['a', 'b', 'a', 'c']) await shards.load(store.versioned, shard(name, bytes(name.charCodeAt(0) - 96)));
    // a, b, c: 1200 bytes; b was the least recently used.
    expect([hashes(), shards.bytes]).toEqual([3, 800]);
    await shards.load(store.versioned, shard('a', bytes(1)));
    await shards.load(store.versioned, shard('c', bytes(3)));
    expect(hashes()).toBe(3);
    await shards.load(store.versioned, shard('b', bytes(2)));
    expect(hashes()).toBe(4);
    await shards.load(store.versioned, shard('big', bytes(4, 2000)));
    await shards.load(store.versioned, shard('big', bytes(4, 2000)));
    expect([hashes(), shards.bytes]).toEqual([6, 800]);

    const none = counted(0);
    await none.shards.load(store.versioned, shard('a', bytes(1)));
    await none.shards.load(store.versioned, shard('a', bytes(1)));
    expect([none.hashes(), none.shards.bytes]).toEqual([2, 0]);
  });

  it('on the file store, a dataset published again (a new etag) is read and verified again', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'verified-shards-'));
    try {
      const store = DatasetStore.inDataDir(dir);
      const publish = async (bytes: Uint8Array) => {
        const sink = store.writer('d');
        await sink.putObject('train-00000.shard', bytes);
        await sink.publish();
      };
      const versioned: VersionedObjects = { head: (name) => store.head('d', name), read: (name) => store.read('d', name) };
      const { shards, hashes } = counted(1 << 20);
      const bytes = Uint8Array.from([1, 2, 3, 4, 5]);
      await publish(bytes);
      await shards.load(versioned, shard('train-00000.shard', bytes));
      await shards.load(versioned, shard('train-00000.shard', bytes));
      expect(hashes()).toBe(1);
      await publish(bytes);
      await shards.load(versioned, shard('train-00000.shard', bytes));
      expect(hashes()).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
