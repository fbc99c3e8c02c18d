import { describe, expect, it } from 'vitest';
import { imageStatistics, measureImage, unlikeTraining } from '../../src/data/image-statistics.js';
import { loadDigits } from '../../src/data/digits.js';
import { InMemorySource } from '../../src/data/in-memory-source.js';

describe('image statistics', async () => {
  // Two 3x3 "digits": a light centre on a dark border.
  const images = Float32Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0.8, 0, 0, 0, 0]);
  const twoDigits = { images, labels: new Uint8Array(2), count: 2, size: [3, 3, 1] as [number, number, number], classes: ['0'] };
  const stats = await imageStatistics(InMemorySource.of({ train: twoDigits, test: twoDigits }), 'train');

  it('records range, brightness and a light-on-dark polarity', () => {
    expect(stats).toMatchObject({ min: 0, max: 1, background: 0, polarity: 'light-on-dark' });
    expect(stats.imageMean.mean).toBeCloseTo(0.1, 6);
    expect(stats.imageMean.std).toBeCloseTo(0.1 / 9, 6);
  });

  it('warns about an inverted image, not about one like the training images', () => {
    const like = Float32Array.from([0, 0, 0, 0, 0.9, 0, 0, 0, 0]);
    expect(unlikeTraining(measureImage(like, 0, [3, 3, 1]), stats)).toEqual([]);
    const inverted = like.map((v) => 1 - v);
    const warnings = unlikeTraining(measureImage(inverted, 0, [3, 3, 1]), stats);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/background \(border mean 1\) is light/);
  });

  it('warns about almost none of the digits test images, and about every inverted one', async () => {
    const { test } = await loadDigits();
    const digits = await imageStatistics(InMemorySource.of(await loadDigits()), 'train');
    expect(digits).toMatchObject({ min: 0, max: 1, polarity: 'light-on-dark' });
    const inverted = test.images.map((v) => 1 - v);
    let warned = 0;
    let invertedWarned = 0;
    for (let i = 0; i < test.count; i++) {
      if (unlikeTraining(measureImage(test.images, i, test.size), digits).length > 0) warned += 1;
      if (unlikeTraining(measureImage(inverted, i, test.size), digits).length > 0) invertedWarned += 1;
    }
    console.log(`digits: ${JSON.stringify(digits)}; warnings for ${warned} of ${test.count} test images, ${invertedWarned} of ${test.count} inverted ones`);
    expect(warned / test.count).toBeLessThan(0.001);
    expect(invertedWarned).toBe(test.count);
  });
});
