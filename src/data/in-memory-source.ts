import type { Batch, BatchOptions, DatasetDescription, DatasetSource, Split } from '../nn/dataset-source.js';
import type { Dataset } from './dataset.js';

/** Both splits of a dataset held in memory. */
export interface DatasetSplits {
  train: Dataset;
  test: Dataset;
}

/**
 * A dataset source over splits held in memory (the digits, small test sets): a pass in a given
 * order gathers its batches into buffers reused from batch to batch, so it allocates nothing per
 * batch; a pass in stored order hands out views of the images. The splits are loaded on the first call that needs them; a known description answers
 * `describe` without loading anything.
 */
export class InMemorySource implements DatasetSource {
  constructor(
    private readonly load: () => Promise<DatasetSplits>,
    private readonly known?: DatasetDescription,
  ) {}

  static of(splits: DatasetSplits): InMemorySource {
    return new InMemorySource(() => Promise.resolve(splits));
  }

  async describe(): Promise<DatasetDescription> {
    if (this.known) return this.known;
    const { train, test } = await this.load();
    return { size: train.size, classes: train.classes, counts: { train: train.count, test: test.count } };
  }

  async *batches(split: Split, options: BatchOptions): AsyncGenerator<Batch> {
    yield* gatherBatches((await this.load())[split], options);
  }
}

function* gatherBatches(data: Dataset, { batchSize, order, dropLast = false }: BatchOptions): Generator<Batch> {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const [h, w, c] = data.size;
  const per = h * w * c;
  const total = order ? order.length : data.count;
  const images = new Float32Array(order ? Math.min(batchSize, total) * per : 0);
  const labels = new Int32Array(Math.min(batchSize, total));
  for (let start = 0; start < total; start += batchSize) {
    const count = Math.min(batchSize, total - start);
    if (count < batchSize && dropLast) return;
    const batchLabels = labels.subarray(0, count);
    if (!order) {
      // A pass in stored order needs no gathering: the images are read where they lie.
      batchLabels.set(data.labels.subarray(start, start + count));
      yield { images: data.images.subarray(start * per, (start + count) * per), labels: batchLabels, count };
      continue;
    }
    for (let i = 0; i < count; i++) {
      const k = order[start + i]!;
      if (!(k >= 0 && k < data.count)) throw new RangeError(`position ${k} is outside the split's ${data.count} images`);
      images.set(data.images.subarray(k * per, (k + 1) * per), i * per);
      batchLabels[i] = data.labels[k]!;
    }
    yield { images: images.subarray(0, count * per), labels: batchLabels, count };
  }
}
