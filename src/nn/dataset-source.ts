/**
 * The one way the engine reads a dataset: a source that describes itself and streams mini-batches.
 * Training, normalisation statistics, batch-norm population statistics, evaluation and the input
 * statistics of a model's manifest all take batches from here, never a whole dataset in memory,
 * so a source may keep only a few batches (or stored shards) in memory whatever its size. The
 * built-in digits and uploaded datasets are both stored as shards (src/data/stored-source.ts).
 */
import type { Random } from './random.js';
import type { Size3 } from './shapes.js';

/** The training images, and the held-out images used for validation and the test accuracy. */
export type Split = 'train' | 'test';

/** What a source holds, known before any image is read: what the API checks a network against. */
export interface DatasetDescription {
  /** Height, width, channels of every image. */
  size: Size3;
  /** Class names; a label is an index into them. */
  classes: string[];
  /** Images in each split. */
  counts: Record<Split, number>;
}

/**
 * `count` images one after another, row-major, channels last (NHWC), float32, and their labels.
 * A source may reuse the arrays for its next batch, or hand out views of what it holds: a batch is
 * read-only, and valid until the next is asked for.
 */
export interface Batch {
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export interface BatchOptions {
  /** Images per batch; the last batch may hold fewer unless `dropLast`. */
  batchSize: number;
  /**
   * The positions in the split to read, in this order (a permutation, for shuffled training); all
   * of them in stored order when absent (the passes over a whole split).
   */
  order?: ArrayLike<number>;
  /** Leave out a last batch smaller than batchSize (MATLAB's training drops it). */
  dropLast?: boolean;
}

/**
 * A dataset behind the engine. `batches` streams one pass over a split; the caller may stop early
 * (`break` in `for await` closes the stream, and the source lets go of what it held).
 */
export interface DatasetSource {
  describe(): Promise<DatasetDescription>;
  batches(split: Split, options: BatchOptions): AsyncIterable<Batch>;
  /**
   * A shuffled order of the first `count` training images that this source reads cheaply, drawn
   * from `random`; training uses `random.permutation(count)` when absent. A source that holds a
   * few stored shards at a time shuffles within shards and the order of shards, not across all.
   */
  shuffledOrder?(random: Random, count: number): Int32Array;
}
