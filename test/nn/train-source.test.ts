import { beforeAll, describe, expect, it } from 'vitest';
import type { Batch, BatchOptions, DatasetDescription, DatasetSource, Split } from '../../src/nn/dataset-source.js';
import { wholeDatasetBatchSize } from '../../src/nn/memory.js';
import { train, type ProgressRecord } from '../../src/nn/train.js';
import { useTestBackend } from '../helpers/backend.js';
import { network, options } from '../helpers/data.js';

beforeAll(useTestBackend);

interface Pass {
  split: Split;
  batchSize: number;
  order: number[] | null;
  dropLast: boolean;
  largest: number;
}

/**
 * A source with no images in memory at all: each batch is drawn when asked for (image i of class
 * i % 3 lights rows 2k and 2k+1), and every pass is recorded, with whether it was closed.
 */
class FakeSource implements DatasetSource {
  readonly passes: Pass[] = [];
  open = 0;
  readonly description: DatasetDescription = { size: [6, 6, 1], classes: ['a', 'b', 'c'], counts: { train: 120, test: 45 } };

  describe(): Promise<DatasetDescription> {
    return Promise.resolve(this.description);
  }

  async *batches(split: Split, { batchSize, order, dropLast = false }: BatchOptions): AsyncGenerator<Batch> {
    const pass: Pass = { split, batchSize, order: order ? Array.from(order) : null, dropLast, largest: 0 };
    this.passes.push(pass);
    this.open++;
    try {
      const positions = order ? Array.from(order) : Array.from({ length: this.description.counts[split] }, (_, i) => i);
      for (let start = 0; start < positions.length; start += batchSize) {
        const count = Math.min(batchSize, positions.length - start);
        if (count < batchSize && dropLast) return;
        const images = new Float32Array(count * 36);
        const labels = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          const k = positions[start + i]! % 3;
          labels[i] = k;
          images.fill(1, i * 36 + 12 * k, i * 36 + 12 * k + 12);
        }
        pass.largest = Math.max(pass.largest, count);
        await Promise.resolve();
        yield { images, labels, count };
      }
    } finally {
      this.open--;
    }
  }
}

const net = network({
  layers: [
    { type: 'imageInput', inputSize: [6, 6, 1] },
    { type: 'convolution2d', filterSize: 3, numFilters: 4 },
    { type: 'batchNormalization' },
    { type: 'relu' },
    { type: 'fullyConnected', outputSize: 3 },
    { type: 'softmax' },
    { type: 'classification' },
  ],
});
const settings = { miniBatchSize: 16, maxEpochs: 3, seed: 5, shuffle: 'every-epoch', validationData: 'test', validationFrequency: 7, batchNormalizationStatistics: 'population', initialLearnRate: 0.1 };

const isPermutation = (order: number[] | null, n: number) => order !== null && order.length === n && [...order].sort((a, b) => a - b).every((v, i) => v === i);

describe('train on a dataset source', () => {
  it('reads the data only through batches: shuffled training passes, and bounded whole-split passes', async () => {
    const source = new FakeSource();
    const records: ProgressRecord[] = [];
    const result = await train(net, { source, name: 'fake' }, options(settings), { onProgress: (r) => void records.push(r) });
    const training = source.passes.filter((p) => p.split === 'train' && p.order);
    expect(training).toHaveLength(3);
    for (const p of training) expect([p.batchSize, p.dropLast, isPermutation(p.order, 120)]).toEqual([16, true, true]);
    expect(new Set(training.map((p) => p.order!.join(','))).size).toBe(3);
    expect(result.iterationsPerEpoch).toBe(7);
    expect(records).toHaveLength(21);
    // Normalisation and population statistics read the training split, validation the test split, all in order and bounded.
    const whole = source.passes.filter((p) => !p.order);
    expect(whole.filter((p) => p.split === 'train').length).toBeGreaterThanOrEqual(2);
    expect(whole.filter((p) => p.split === 'test').length).toBe(records.filter((r) => r.validationAccuracy !== undefined).length + 1);
    for (const p of whole) expect(p.largest).toBeLessThanOrEqual(wholeDatasetBatchSize);
    expect(result.validation!.count).toBe(45);
    expect(result.validation!.accuracy).toBeGreaterThan(0.9);
    expect(source.open).toBe(0);
    result.classifier.dispose();
  });

  it('stops within one iteration of an abort and closes the stream it was reading', async () => {
    const source = new FakeSource();
    const controller = new AbortController();
    const result = await train(net, { source }, options(settings), {
      onProgress: (r) => {
        if (r.iteration === 3) controller.abort();
      },
      signal: controller.signal,
    });
    expect([result.stopReason, result.iterations]).toEqual(['aborted', 3]);
    expect(source.open).toBe(0);
    result.classifier.dispose();
  });

  it('stops as aborted when the signal stops a validation, with the iterations read before it reported in order', async () => {
    const source = new FakeSource();
    const controller = new AbortController();
    const batches = source.batches.bind(source);
    // The second validation pass (iteration 7) is stopped as it starts.
    source.batches = (split, batchOptions) => {
      if (split === 'test' && source.passes.filter((p) => p.split === 'test').length === 1) controller.abort();
      return batches(split, batchOptions);
    };
    const records: ProgressRecord[] = [];
    const result = await train(net, { source }, options(settings), {
      onProgress: (r) => void records.push(r),
      signal: controller.signal,
      readbackIntervalMs: 3_600_000,
    });
    expect([result.stopReason, result.iterations, result.validation]).toEqual(['aborted', 7, null]);
    expect(records.map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.last?.iteration).toBe(6);
    expect(source.open).toBe(0);
    result.classifier.dispose();
  });

  it('gives the same mini-batch orders for the same seed, and none with shuffle never', async () => {
    const orders = async (overrides: Record<string, unknown>) => {
      const source = new FakeSource();
      (await train(net, { source }, options({ ...settings, validationData: null, ...overrides }))).classifier.dispose();
      return source.passes.filter((p) => p.split === 'train' && p.dropLast).map((p) => p.order);
    };
    const once = await orders({ shuffle: 'once' });
    expect(once).toHaveLength(3);
    expect(once[1]).toEqual(once[0]);
    expect(await orders({ shuffle: 'once' })).toEqual(once);
    expect(await orders({ shuffle: 'never' })).toEqual([null, null, null]);
  });
});
