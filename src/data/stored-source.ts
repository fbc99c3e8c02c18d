import type { Batch, BatchOptions, DatasetDescription, DatasetSource, Split } from '../nn/dataset-source.js';
import type { Random } from '../nn/random.js';
import { epochOrder, ShardReader, type LoadShard } from './ingest/shard-reader.js';
import type { DatasetManifest } from './ingest/shards.js';

/** Decoded shards a pass holds at once: the one being read, the next (prefetched), and one spare. */
export const shardsHeld = 3;

/** What a stored dataset holds, from its manifest alone. */
export function storedDescription({ size, classes, splits }: DatasetManifest): DatasetDescription {
  return { size, classes, counts: { train: splits.train.count, test: splits.test.count } };
}

/**
 * A dataset stored as shards (src/data/ingest/shards.ts) as the engine reads it: `describe()` from
 * the manifest, batches through a ShardReader (shards verified against their checksums, the next
 * fetched while the current one is read, at most `maxShardsHeld` decoded shards held per pass), so
 * a pass's memory does not grow with the dataset (a worker's VerifiedShards cache, shared by its
 * jobs, adds at most its own bound). Shuffled training reads shard by shard (epochOrder)
 * unless every shard fits in what a pass holds, when a full permutation costs no extra reads.
 */
export class StoredSource implements DatasetSource {
  private readonly reader: ShardReader;

  constructor(
    readonly manifest: DatasetManifest,
    loadShard: LoadShard,
    private readonly maxShardsHeld = shardsHeld,
  ) {
    this.reader = new ShardReader(manifest, loadShard, maxShardsHeld);
  }

  /** Most decoded shards a pass held at once so far. */
  get peakShardsHeld(): number {
    return this.reader.peakShardsHeld;
  }

  describe(): Promise<DatasetDescription> {
    return Promise.resolve(storedDescription(this.manifest));
  }

  batches(split: Split, options: BatchOptions): AsyncIterable<Batch> {
    return this.reader.batches(split, options);
  }

  shuffledOrder(random: Random, count: number): Int32Array {
    const split = this.manifest.splits.train;
    let shards = 0;
    for (let at = 0; at < count && shards < split.shards.length; shards++) at += split.shards[shards]!.count;
    return shards <= this.maxShardsHeld ? random.permutation(count) : epochOrder(split, random, count);
  }
}
