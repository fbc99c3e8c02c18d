import type { DatasetDescription, DatasetSource } from '../nn/dataset-source.js';

/**
 * A source that trains on the first `n` images of another's training split (a job's
 * `{id, trainImages}`, the command line's --train-size); its test split is the other's.
 */
export function firstTrainImages(source: DatasetSource, n: number): DatasetSource {
  const describe = async () => firstTrainDescription(await source.describe(), n);
  return {
    describe,
    async *batches(split, options) {
      if (split === 'train' && !options.order) {
        const count = (await describe()).counts.train;
        yield* source.batches(split, { ...options, order: Int32Array.from({ length: count }, (_, i) => i) });
      } else {
        // A given order already names positions among the first n: the caller numbered them from describe().
        yield* source.batches(split, options);
      }
    },
    // An order of the first n is one the source reads cheaply among its own (and a full permutation when it has none).
    ...(source.shuffledOrder ? { shuffledOrder: (random, count) => source.shuffledOrder!(random, Math.min(count, n)) } : {}),
  };
}

/** A description whose training split is its first `n` images (all of them when n is larger). */
export function firstTrainDescription(description: DatasetDescription, n: number): DatasetDescription {
  return { ...description, counts: { ...description.counts, train: Math.min(n, description.counts.train) } };
}
