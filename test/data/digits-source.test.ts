import { describe, expect, it } from 'vitest';
import { digitsSource, loadDigits } from '../../src/data/digits.js';
import type { Batch, BatchOptions, Split } from '../../src/nn/dataset-source.js';
import { Random } from '../../src/nn/random.js';

/** Every batch of a pass, copied (a source may reuse its arrays for the next batch). */
async function pass(split: Split, options: BatchOptions): Promise<Batch[]> {
  const batches: Batch[] = [];
  for await (const b of digitsSource.batches(split, options)) batches.push({ images: b.images.slice(), labels: b.labels.slice(), count: b.count });
  return batches;
}

describe('the digits source', () => {
  it('describes 28x28 grey images of ten classes, 5000 per split, as loading them finds', async () => {
    const description = await digitsSource.describe();
    expect(description).toEqual({ size: [28, 28, 1], classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], counts: { train: 5000, test: 5000 } });
    const { train, test } = await loadDigits();
    expect([train.count, test.count, train.size, train.classes]).toEqual([description.counts.train, description.counts.test, description.size, description.classes]);
  });

  it('streams a split in stored order, the last batch smaller unless dropped', async () => {
    const { test } = await loadDigits();
    const kept = await pass('test', { batchSize: 256 });
    expect(kept.map((b) => b.count)).toEqual([...new Array<number>(19).fill(256), 5000 - 19 * 256]);
    expect(kept.map((b) => b.images.length)).toEqual(kept.map((b) => b.count * 784));
    const labels = kept.flatMap((b) => [...b.labels]);
    expect(labels).toEqual([...test.labels]);
    expect(kept.at(-1)!.images).toEqual(test.images.subarray((5000 - 136) * 784));
    const dropped = await pass('test', { batchSize: 256, dropLast: true });
    expect(dropped.map((b) => b.count)).toEqual(new Array<number>(19).fill(256));
  });

  it('reads the positions of an order, so a seed gives the same mini-batches every time', async () => {
    const { train } = await loadDigits();
    const order = new Random(42).permutation(5000);
    const batches = await pass('train', { batchSize: 128, order, dropLast: true });
    expect(batches).toHaveLength(Math.floor(5000 / 128));
    const [first] = batches;
    for (const i of [0, 1, 127]) {
      expect(first!.labels[i]).toBe(train.labels[order[i]!]);
      expect(first!.images.subarray(i * 784, (i + 1) * 784)).toEqual(train.images.subarray(order[i]! * 784, (order[i]! + 1) * 784));
    }
    const again = await pass('train', { batchSize: 128, order: new Random(42).permutation(5000), dropLast: true });
    expect(again.map((b) => [...b.labels])).toEqual(batches.map((b) => [...b.labels]));
  });

  it('refuses a position outside the split', async () => {
    await expect(pass('test', { batchSize: 2, order: [0, 5000] })).rejects.toThrow(/outside the split's 5000 images/);
  });
});
