import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { Score } from '../../src/nn/classifier.js';
import { classMetrics, MisclassifiedPicker } from '../../src/nn/confusion.js';
import { evaluationReport } from '../../src/run/evaluation-report.js';

/** Probabilities that make `predicted` the most probable of 3 classes. */
const probs = (predicted: number[]) => Float32Array.from(predicted.flatMap((p) => [0, 1, 2].map((c) => (c === p ? 0.8 : 0.1))));

describe('the confusion matrix, precision and recall', () => {
  // 8 images of 3 classes. True 0: predicted 0, 0, 1. True 1: 1, 1, 2. True 2: 0, 2.
  const labels = [0, 0, 0, 1, 1, 1, 2, 2];
  const predicted = [0, 0, 1, 1, 1, 2, 0, 2];

  it('counts (true, predicted) pairs across batches, and works out each class by hand', () => {
    const score = new Score(3);
    score.add(probs(predicted.slice(0, 5)), labels.slice(0, 5));
    score.add(probs(predicted.slice(5)), labels.slice(5));
    const result = score.result();
    expect(result.confusion).toEqual([
      [2, 1, 0],
      [0, 2, 1],
      [1, 0, 1],
    ]);
    expect(result.accuracy).toBe(5 / 8);
    // precision: column c's diagonal over its sum (predicted 0: 3 images, 2 right); recall: row c's over its sum.
    expect(classMetrics(result.confusion)).toEqual({ precision: [2 / 3, 2 / 3, 1 / 2], recall: [2 / 3, 2 / 3, 1 / 2] });
  });

  it('says null for a class never predicted (precision) and a class without images (recall)', () => {
    expect(classMetrics([
      [3, 0, 0],
      [1, 0, 0],
      [0, 0, 0],
    ])).toEqual({ precision: [3 / 4, null, null], recall: [1, 0, null] });
  });

  it('keeps the first misclassified images of each true class, copied, within the total', () => {
    const images = Float32Array.from({ length: 8 * 2 }, (_, i) => i);
    const picker = new MisclassifiedPicker(3, 1, 10);
    const score = new Score(3, picker);
    score.add(probs(predicted.slice(0, 4)), labels.slice(0, 4), images.subarray(0, 8));
    score.add(probs(predicted.slice(4)), labels.slice(4), images.subarray(8));
    const kept = score.result().misclassified!;
    expect(kept.map((m) => [m.index, m.trueClass, m.predicted])).toEqual([
      [2, 0, 1],
      [5, 1, 2],
      [6, 2, 0],
    ]);
    expect(kept.map((m) => Array.from(m.image))).toEqual([[4, 5], [10, 11], [12, 13]]);
    expect(kept[0]!.probability).toBeCloseTo(0.8);
    images.fill(-1);
    expect(Array.from(kept[1]!.image)).toEqual([10, 11]);

    const bounded = new MisclassifiedPicker(3, 3, 2);
    for (const [i, label] of labels.entries()) bounded.offer(i, label, predicted[i]!, 0.8, images.subarray(2 * i, 2 * i + 2));
    expect(bounded.result().map((m) => m.index)).toEqual([2, 5]);
  });

  it('lays the misclassified images out as a sprite, one row per true class, scaled from the training range', () => {
    const image = (v: number) => new Float32Array(4).fill(v);
    const test = {
      accuracy: 0.5,
      loss: 1,
      count: 6,
      confusion: [
        [1, 2, 0],
        [0, 2, 0],
        [0, 1, 0],
      ],
      misclassified: [
        { index: 0, trueClass: 0, predicted: 1, probability: 0.9, image: image(2) },
        { index: 3, trueClass: 0, predicted: 1, probability: 0.7, image: image(4) },
        { index: 5, trueClass: 2, predicted: 1, probability: 0.6, image: image(0) },
      ],
    };
    const { evaluation, sprite } = evaluationReport(test, ['a', 'b', 'c'], [2, 2, 1], { min: 0, max: 4 });
    expect(evaluation).toMatchObject({ split: 'test', count: 6, precision: [1, 0.4, null], recall: [1 / 3, 1, 0] });
    expect(evaluation.misclassified).toEqual({
      sprite: 'misclassified.png',
      tileSize: [2, 2],
      examples: [
        { index: 0, trueClass: 'a', predictedClass: 'b', probability: 0.9, x: 0, y: 0 },
        { index: 3, trueClass: 'a', predictedClass: 'b', probability: 0.7, x: 2, y: 0 },
        { index: 5, trueClass: 'c', predictedClass: 'b', probability: 0.6, x: 0, y: 2 },
      ],
    });
    const png = PNG.sync.read(sprite!);
    expect([png.width, png.height]).toEqual([6, 4]);
    const grey = (x: number, y: number) => png.data[4 * (y * png.width + x)];
    expect([grey(0, 0), grey(1, 1), grey(2, 0), grey(3, 1), grey(4, 0), grey(0, 2)]).toEqual([128, 128, 255, 255, 0, 0]);
  });

  it('makes no sprite when every image was right', () => {
    const { evaluation, sprite } = evaluationReport({ accuracy: 1, loss: 0, count: 1, confusion: [[1]], misclassified: [] }, ['a'], [2, 2, 1], undefined);
    expect(sprite).toBeNull();
    expect(evaluation.misclassified).toEqual({ sprite: null, tileSize: [2, 2], examples: [] });
  });
});
