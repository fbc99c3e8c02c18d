import { describe, expect, it } from 'vitest';
import { loadDigits } from '../../src/data/digits.js';

describe('digits', () => {
  it('splits the 10,000 MNIST digits 5000/5000 with every class in both splits', async () => {
    const { train, test } = await loadDigits();
    expect(train.count).toBe(5000);
    expect(test.count).toBe(5000);
    expect(train.size).toEqual([28, 28, 1]);
    expect(train.images.length).toBe(5000 * 784);
    for (const split of [train, test]) {
      const counts = new Array(10).fill(0);
      split.labels.forEach((l) => counts[l]++);
      // the package holds 863 to 1127 of each digit; alternating positions halve each to within one
      for (const c of counts) expect(c).toBeGreaterThan(400);
    }
    let min = Infinity;
    let max = -Infinity;
    for (const v of train.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect([min, max]).toEqual([0, 1]);
  });

  it('puts no image in both splits', async () => {
    const { train, test } = await loadDigits();
    const key = (images: Float32Array, i: number) => images.subarray(i * 784, (i + 1) * 784).join(',');
    const seen = new Set(Array.from({ length: train.count }, (_, i) => key(train.images, i)));
    let shared = 0;
    for (let i = 0; i < test.count; i++) if (seen.has(key(test.images, i))) shared++;
    // MNIST itself holds a handful of exact duplicates; a broken split would share thousands.
    expect(shared).toBeLessThan(10);
  });

  it('mixes the classes in any prefix, so --train-size N sees every digit', async () => {
    const { train } = await loadDigits();
    expect(new Set(train.labels.subarray(0, 100)).size).toBe(10);
    expect(Array.from(train.labels.subarray(0, 20))).toEqual([9, 0, 0, 5, 3, 0, 4, 4, 9, 6, 5, 0, 6, 5, 4, 7, 2, 6, 8, 3]);
  });
});
