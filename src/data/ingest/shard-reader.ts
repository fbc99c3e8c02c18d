import type { Random } from '../../nn/random.js';
import type { SplitName } from './layouts.js';
import { decodeShard, sha256, type DatasetManifest, type ShardInfo, type SplitManifest } from './shards.js';

/**
 * Mini-batches from a stored dataset's shards, shaped like a DatasetSource's `batches()`: uint8
 * images become float32 in [0, 1] as each batch is gathered; each shard comes verified against
 * its checksum (LoadShard: readAndVerify, or a worker's VerifiedShards); the next shard the order
 * needs is fetched while the current one is used; and at most `maxShardsHeld` decoded shards are
 * held at once, whatever the dataset's size.
 */
export interface Batch {
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface ShardBatchOptions {
  batchSize: number;
  /** Positions in the split, in this order; stored order when absent. */
  order?: ArrayLike<number>;
  dropLast?: boolean;
}

export type GetObject = (name: string) => Promise<Uint8Array>;

/** A shard's bytes, verified against its manifest entry (ShardChecksumError otherwise). */
export type LoadShard = (info: ShardInfo) => Promise<Uint8Array>;

export class ShardChecksumError extends Error {
  constructor(readonly shard: string) {
    super(`shard '${shard}' does not match the checksum in the dataset's manifest: the stored dataset is damaged`);
    this.name = 'ShardChecksumError';
  }
}

/** Throws ShardChecksumError unless `bytes` are the shard the manifest entry describes. */
export function verifyShard(bytes: Uint8Array, info: ShardInfo, hash: (bytes: Uint8Array) => string = sha256): void {
  if (bytes.length !== info.bytes || hash(bytes) !== info.sha256) throw new ShardChecksumError(info.name);
}

/** Loads each shard by reading it whole and verifying it, every time (nothing kept between loads). */
export function readAndVerify(getObject: GetObject): LoadShard {
  return async (info) => {
    const bytes = await getObject(info.name);
    verifyShard(bytes, info);
    return bytes;
  };
}

/**
 * One epoch's order over the first `count` images of a split (all of them by default): the shards
 * in a random order and, within each, its images in a random order, drawn from `random`.
 * Ingestion already stored each split in a random order, so this mixes like a full shuffle while a
 * reader holds two shards (the current one and the next). With one shard it is exactly
 * `random.permutation(count)`.
 */
export function epochOrder(split: SplitManifest, random: Random, count = split.count): Int32Array {
  const blocks: { start: number; count: number }[] = [];
  let at = 0;
  for (const s of split.shards) {
    if (at >= count) break;
    blocks.push({ start: at, count: Math.min(s.count, count - at) });
    at += s.count;
  }
  const order = new Int32Array(Math.min(at, count));
  let o = 0;
  for (const k of random.permutation(blocks.length)) {
    const { start, count: n } = blocks[k]!;
    for (const i of random.permutation(n)) order[o++] = start + i;
  }
  return order;
}

interface LoadedShard {
  images: Uint8Array;
  labels: Uint16Array;
}

export class ShardReader {
  /** Most shards held at once so far (for tests of the memory bound). */
  peakShardsHeld = 0;

  constructor(
    private readonly manifest: DatasetManifest,
    private readonly loadShard: LoadShard,
    private readonly maxShardsHeld = 3,
  ) {
    if (maxShardsHeld < 2) throw new RangeError('a shard reader holds at least two shards (the current one and the next)');
  }

  async *batches(splitName: SplitName, { batchSize, order, dropLast = false }: ShardBatchOptions): AsyncGenerator<Batch> {
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const split = this.manifest.splits[splitName];
    if (!split) throw new RangeError(`the dataset has no ${splitName} split`);
    const [h, w, c] = this.manifest.size;
    const per = h * w * c;
    const starts = new Int32Array(split.shards.length + 1);
    split.shards.forEach((s, i) => (starts[i + 1] = starts[i]! + s.count));
    const shardOf = (position: number) => {
      let lo = 0;
      let hi = split.shards.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid]! <= position) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const total = order ? order.length : split.count;
    const at = (i: number) => (order ? order[i]! : i);
    const held = new Map<number, Promise<LoadedShard>>();
    const fetch = (k: number) => {
      let shard = held.get(k);
      if (shard) {
        held.delete(k); // re-inserted below: the Map's order is least recently used first
      } else {
        shard = this.load(split.shards[k]!);
        shard.catch(() => undefined); // a prefetch nobody awaits yet must not be an unhandled rejection
      }
      held.set(k, shard);
      while (held.size > this.maxShardsHeld) held.delete(held.keys().next().value!);
      this.peakShardsHeld = Math.max(this.peakShardsHeld, held.size);
      return shard;
    };
    /** The first shard after position i (in the order) other than `current`, to prefetch. */
    const nextShard = (from: number, current: number) => {
      for (let i = from; i < total; i++) {
        const k = shardOf(at(i));
        if (k !== current) return k;
      }
      return -1;
    };
    const images = new Float32Array(Math.min(batchSize, Math.max(total, 1)) * per);
    const labels = new Int32Array(Math.min(batchSize, Math.max(total, 1)));
    let current = -1;
    let shard: LoadedShard | null = null;
    for (let start = 0; start < total; start += batchSize) {
      const count = Math.min(batchSize, total - start);
      if (count < batchSize && dropLast) return;
      for (let i = 0; i < count; i++) {
        const position = at(start + i);
        if (!(position >= 0 && position < split.count)) throw new RangeError(`position ${position} is outside the split's ${split.count} images`);
        const k = shardOf(position);
        if (k !== current || !shard) {
          shard = await fetch(k);
          current = k;
          const next = nextShard(start + i, k);
          if (next >= 0) void fetch(next);
        }
        const local = position - starts[k]!;
        // Index arithmetic, not a subarray view per image: no allocation in the per-image loop.
        const from = local * per;
        const base = i * per;
        const pixels = shard.images;
        for (let j = 0; j < per; j++) images[base + j] = pixels[from + j]! / 255;
        labels[i] = shard.labels[local]!;
      }
      yield count === labels.length ? { images, labels, count } : { images: images.subarray(0, count * per), labels: labels.subarray(0, count), count };
    }
  }

  private async load(info: ShardInfo): Promise<LoadedShard> {
    const bytes = await this.loadShard(info);
    const [h, w, c] = this.manifest.size;
    return decodeShard(bytes, info.count, h * w * c);
  }
}
