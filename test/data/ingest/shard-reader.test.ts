import { describe, expect, it } from 'vitest';
import { epochOrder, readAndVerify, ShardChecksumError, ShardReader } from '../../../src/data/ingest/shard-reader.js';
import { Random } from '../../../src/nn/random.js';
import { encodeShard, sha256, shardName, type DatasetManifest, type SplitManifest } from '../../../src/data/ingest/shards.js';

/** A stored dataset in memory: 2x2x1 images whose pixels all hold the image's position (mod 256). */
function store(count: number, perShard: number) {
  const objects = new Map<string, Uint8Array>();
  const shards: SplitManifest['shards'] = [];
  for (let start = 0, k = 0; start < count; start += perShard, k++) {
    const n = Math.min(perShard, count - start);
    const images = new Uint8Array(n * 4);
    const labels = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      images.fill((start + i) % 256, i * 4, (i + 1) * 4);
      labels[i] = (start + i) % 3;
    }
    const bytes = encodeShard(images, labels);
    const name = shardName('train', k);
    objects.set(name, bytes);
    shards.push({ name, count: n, bytes: bytes.length, sha256: sha256(bytes) });
  }
  const split: SplitManifest = { count, perClass: [], shards };
  const manifest = { size: [2, 2, 1], splits: { train: split, test: { count: 0, perClass: [], shards: [] } } } as unknown as DatasetManifest;
  let fetches = 0;
  const loadShard = readAndVerify(async (name: string) => {
    fetches++;
    return objects.get(name)!;
  });
  return { manifest, split, objects, loadShard, fetches: () => fetches };
}

async function positions(reader: ShardReader, order?: ArrayLike<number>, batchSize = 7) {
  const seen: number[] = [];
  for await (const b of reader.batches('train', { batchSize, ...(order ? { order } : {}) })) {
    for (let i = 0; i < b.count; i++) {
      expect(b.labels[i]).toBe(Math.round(b.images[i * 4]! * 255) % 3);
      seen.push(Math.round(b.images[i * 4]! * 255));
    }
  }
  return seen;
}

describe('ShardReader', () => {
  it('reads a split in stored order as float32 in [0, 1] with Int32 labels', async () => {
    const { manifest, loadShard } = store(50, 8);
    expect(await positions(new ShardReader(manifest, loadShard))).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('an epoch order is a permutation of the whole split, the same for a seed and epoch, another for the next epoch', () => {
    const { split } = store(50, 8);
    const a = epochOrder(split, new Random(5));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(epochOrder(split, new Random(5))).toEqual(a);
    const random = new Random(5);
    epochOrder(split, random);
    expect(epochOrder(split, random)).not.toEqual(a);
    expect(epochOrder(split, new Random(6))).not.toEqual(a);
    // The first 20 only (a job's trainImages): a permutation of them.
    expect([...epochOrder(split, new Random(5), 20)].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('follows the epoch order, fetching each shard once and holding at most a few', async () => {
    const s = store(200, 10);
    const reader = new ShardReader(s.manifest, s.loadShard, 3);
    const order = epochOrder(s.split, new Random(1));
    expect(await positions(reader, order)).toEqual(Array.from(order));
    expect(s.fetches()).toBe(20);
    expect(reader.peakShardsHeld).toBeLessThanOrEqual(3);
  });

  it('stays bounded even for an order that jumps between shards', async () => {
    const s = store(100, 10);
    const reader = new ShardReader(s.manifest, s.loadShard, 2);
    const order = Array.from({ length: 100 }, (_, i) => (i % 10) * 10 + Math.floor(i / 10));
    expect(await positions(reader, order, 16)).toEqual(order);
    expect(reader.peakShardsHeld).toBe(2);
  });

  it('refuses a shard that does not match its checksum', async () => {
    const s = store(30, 10);
    const damaged = new Uint8Array(s.objects.get(shardName('train', 1))!);
    damaged[3]! ^= 1;
    s.objects.set(shardName('train', 1), damaged);
    await expect(positions(new ShardReader(s.manifest, s.loadShard))).rejects.toThrow(ShardChecksumError);
  });
});
