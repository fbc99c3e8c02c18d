import type { DatasetSource } from '../nn/dataset-source.js';

/**
 * A source that trains on the first `n` images of another's training split (a job's
 * `{id, trainImages}`, the command line's --train-size); its test split is the other's.
 */
export function firstTrainImages(source: DatasetSource, n: number): DatasetSource {
  const describe = async () => {
    const description = await source.describe();
    return { ...description, counts: { ...description.counts, train: Math.min(n, description.counts.train) } };
  };
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
  };
}
