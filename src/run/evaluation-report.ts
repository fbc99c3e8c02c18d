import { encodePng } from '../data/png.js';
import type { Evaluation, EvaluateOptions } from '../nn/classifier.js';
import { classMetrics } from '../nn/confusion.js';
import type { Size3 } from '../nn/spec.js';
import type { ModelEvaluation } from '../store/models.js';

/** The name of the sprite of misclassified test images in a model's set. */
export const misclassifiedSpriteName = 'misclassified.png';

/** Up to this many misclassified images of each true class are kept with a model. */
const examplesPerClass = 3;
/** The sprite's pixels at most (4 Mi: 30 digits take 23 Ki; 224x224 images, 83 of them). */
const spritePixelBudget = 1 << 22;

/** What the test pass must collect for the report: a few misclassified images, within the sprite's budget. */
export function testEvaluationOptions([h, w]: Size3): EvaluateOptions {
  return { misclassified: { perClass: examplesPerClass, total: Math.max(1, Math.floor(spritePixelBudget / (h * w))) } };
}

/**
 * The test evaluation as a model's manifest keeps it (MATLAB's confusionchart: counts, precision and
 * recall per class) and the misclassified images as one PNG sprite: a row of tiles per true class,
 * scaled from the training images' [min, max] to 0..255. No sprite when every image was right or
 * the images are neither grey nor RGB.
 */
export function evaluationReport(
  test: Evaluation,
  classes: string[],
  [h, w, c]: Size3,
  range: { min: number; max: number } | undefined,
): { evaluation: ModelEvaluation; sprite: Buffer | null } {
  const examples = test.misclassified ?? [];
  // Tiles in the sprite: one row per true class with mistakes, its examples left to right.
  const rowOf = new Map<number, number>();
  const tilesIn = new Map<number, number>();
  const placed = examples.map((e) => {
    if (!rowOf.has(e.trueClass)) rowOf.set(e.trueClass, rowOf.size);
    const column = tilesIn.get(e.trueClass) ?? 0;
    tilesIn.set(e.trueClass, column + 1);
    return { example: e, x: column * w, y: rowOf.get(e.trueClass)! * h };
  });
  const drawable = placed.length > 0 && (c === 1 || c === 3);
  const evaluation: ModelEvaluation = {
    split: 'test',
    count: test.count,
    confusionMatrix: test.confusion,
    ...classMetrics(test.confusion),
    misclassified: {
      sprite: drawable ? misclassifiedSpriteName : null,
      tileSize: [h, w],
      examples: placed.map(({ example: e, x, y }) => ({
        index: e.index,
        trueClass: classes[e.trueClass]!,
        predictedClass: classes[e.predicted]!,
        probability: e.probability,
        x,
        y,
      })),
    },
  };
  if (!drawable) return { evaluation, sprite: null };
  const width = examplesPerClass * w;
  const height = rowOf.size * h;
  const pixels = new Float32Array(width * height * c);
  const lo = range && range.max > range.min ? range.min : 0;
  const span = range && range.max > range.min ? range.max - range.min : 1;
  for (const { example, x, y } of placed) {
    for (let r = 0; r < h; r++) {
      for (let k = 0; k < w * c; k++) pixels[((y + r) * width + x) * c + k] = (example.image[r * w * c + k]! - lo) / span;
    }
  }
  return { evaluation, sprite: encodePng(pixels, width, height, c) };
}
