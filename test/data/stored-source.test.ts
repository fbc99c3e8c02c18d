import { describe, expect, it } from 'vitest';
import { encodeShard, sha256, shardName, type DatasetManifest, type SplitManifest } from '../../src/data/ingest/shards.js';
import { readAndVerify } from '../../src/data/ingest/shard-reader.js';
import { StoredSource } from '../../src/data/stored-source.js';
import { firstTrainImages } from '../../src/data/first-images.js';
import { Random } from '../../src/nn/random.js';

/**
 * A stored dataset in memory: 1x1 grey images whose pixel is the image's position (mod 256), its
 * label the position mod 3; a fetch log, and fetches that wait until released (to see prefetching).
 */
function stored(count: number, perShard: number) {
  const objects = new Map<string, Uint8Array>();
  const split = (name: 'train' | 'test'): SplitManifest => {
    const shards: SplitManifest['shards'] = [];
    for (let start = 0, k = 0; start < count; start += perShard, k++) {
      const n = Math.min(perShard, count - start);
      const bytes = encodeShard(Uint8Array.from({ length: n }, (_, i) => (start + i) % 256), Array.from({ length: n }, (_, i) => (start + i) % 3));
      objects.set(shardName(name, k), bytes);
      shards.push({ name: shardName(name, k), count: n, bytes: bytes.length, sha256: sha256(bytes) });
    }
    return { count, perClass: [], shards };
  };
  const manifest = { size: [1, 1, 1], classes: ['a', 'b', 'c'], sizeMode: 'resize', splits: { train: split('train'), test: split('test') } } as unknown as DatasetManifest;
  const fetched: string[] = [];
  const loadShard = readAndVerify(async (name: string) => {
    fetched.push(name);
    await new Promise((resolve) => setImmediate(resolve));
    return objects.get(name)!;
  });
  return { manifest, fetched, loadShard };
}

async function positions(source: StoredSource | ReturnType<typeof firstTrainImages>, order?: ArrayLike<number>, onBatch = () => {}) {
  const seen: number[] = [];
  for await (const b of source.batches('train', { batchSize: 10, ...(order ? { order } : {}) })) {
    for (let i = 0; i < b.count; i++) seen.push(Math.round(b.images[i]! * 255));
    onBatch();
  }
  return seen;
}

describe('StoredSource', () => {
  it('describes the dataset from its manifest alone', async () => {
    const s = stored(50, 8);
    expect(await new StoredSource(s.manifest, s.loadShard).describe()).toEqual({ size: [1, 1, 1], classes: ['a', 'b', 'c'], counts: { train: 50, test: 50 } });
    expect(s.fetched).toEqual([]);
  });

  it('reads a split in stored order, fetching each shard once, the next one while the current one is read', async () => {
    const s = stored(200, 20);
    const source = new StoredSource(s.manifest, s.loadShard);
    const fetchedAtBatch: number[] = [];
    expect(await positions(source, undefined, () => fetchedAtBatch.push(s.fetched.length))).toEqual(Array.from({ length: 200 }, (_, i) => i % 256));
    expect(s.fetched).toEqual(Array.from({ length: 10 }, (_, k) => shardName('train', k)));
    // Two batches a shard: when the first batch of shard k is handed out, shard k + 1 has been asked for already.
    expect(fetchedAtBatch.filter((_, b) => b % 2 === 0)).toEqual(Array.from({ length: 10 }, (_, k) => Math.min(k + 2, 10)));
    expect(source.peakShardsHeld).toBeLessThanOrEqual(3);
  });

  it('shuffles a split of many shards shard by shard: every image once a pass, each shard fetched once, at most three held', async () => {
    const s = stored(1000, 50);
    const source = new StoredSource(s.manifest, s.loadShard);
    const order = source.shuffledOrder(new Random(3), 1000);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(order).not.toEqual(Int32Array.from({ length: 1000 }, (_, i) => i));
    expect(source.shuffledOrder(new Random(3), 1000)).toEqual(order);
    expect(await positions(source, order)).toEqual(Array.from(order, (p) => p % 256));
    expect(s.fetched).toHaveLength(20);
    expect(source.peakShardsHeld).toBeLessThanOrEqual(3);
  });

  it('shuffles a split that fits in the shards a pass holds as training from memory does (a full permutation)', () => {
    const s = stored(100, 40);
    expect(new StoredSource(s.manifest, s.loadShard).shuffledOrder(new Random(9), 100)).toEqual(new Random(9).permutation(100));
  });

  it('holds a bounded number of shards whatever the order, and the first n images only for trainImages', async () => {
    const s = stored(300, 10);
    const source = new StoredSource(s.manifest, s.loadShard);
    // An order that jumps between shards on every image still holds at most three.
    const jumping = Array.from({ length: 300 }, (_, i) => (i % 30) * 10 + Math.floor(i / 30));
    expect(await positions(source, jumping)).toEqual(jumping.map((p) => p % 256));
    expect(source.peakShardsHeld).toBe(3);
    const first = firstTrainImages(source, 45);
    const order = first.shuffledOrder!(new Random(1), 45);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 45 }, (_, i) => i));
    expect((await positions(first)).length).toBe(45);
  });
});
