/**
 * MATLAB's confusionchart numbers: counts of (true class, predicted class) over a split, and each
 * class's precision (column summary: of the images predicted as it, the fraction that are it) and
 * recall (row summary: of its images, the fraction predicted as it).
 */
export class ConfusionMatrix {
  /** counts[t * k + p]: images of true class t predicted as p. */
  private readonly counts: Uint32Array;

  constructor(readonly numClasses: number) {
    this.counts = new Uint32Array(numClasses * numClasses);
  }

  add(trueClass: number, predicted: number): void {
    this.counts[trueClass * this.numClasses + predicted]!++;
  }

  /** Rows are true classes, columns predicted ones. */
  rows(): number[][] {
    const k = this.numClasses;
    return Array.from({ length: k }, (_, t) => Array.from(this.counts.subarray(t * k, (t + 1) * k)));
  }
}

export interface ClassMetrics {
  /** Per class; null for a class nothing was predicted as (MATLAB shows NaN). */
  precision: (number | null)[];
  /** Per class; null for a class with no images in the split. */
  recall: (number | null)[];
}

/** Precision and recall of each class from a confusion matrix's rows (true) and columns (predicted). */
export function classMetrics(matrix: number[][]): ClassMetrics {
  const k = matrix.length;
  const ratio = (hit: number, all: number) => (all === 0 ? null : hit / all);
  const rowSum = (t: number) => matrix[t]!.reduce((s, v) => s + v, 0);
  const columnSum = (p: number) => matrix.reduce((s, row) => s + row[p]!, 0);
  return {
    precision: Array.from({ length: k }, (_, c) => ratio(matrix[c]![c]!, columnSum(c))),
    recall: Array.from({ length: k }, (_, c) => ratio(matrix[c]![c]!, rowSum(c))),
  };
}

/** A test image the classifier got wrong, with its pixels (HWC, as the source gave them). */
export interface Misclassified {
  /** Position in the split. */
  index: number;
  trueClass: number;
  predicted: number;
  /** The predicted class's probability. */
  probability: number;
  image: Float32Array;
}

/**
 * Keeps the first `perClass` misclassified images of each true class, at most `total` in all, in
 * the order they come: memory stays bounded whatever the split's size. The pixels are copied, as a
 * source's batch is reused.
 */
export class MisclassifiedPicker {
  private readonly kept: Misclassified[] = [];
  private readonly perTrueClass: number[];

  constructor(
    numClasses: number,
    private readonly perClass: number,
    private readonly total: number,
  ) {
    this.perTrueClass = new Array<number>(numClasses).fill(0);
  }

  offer(index: number, trueClass: number, predicted: number, probability: number, image: Float32Array): void {
    if (trueClass === predicted || this.kept.length >= this.total || this.perTrueClass[trueClass]! >= this.perClass) return;
    this.perTrueClass[trueClass]!++;
    this.kept.push({ index, trueClass, predicted, probability, image: image.slice() });
  }

  /** By true class, then as they came. */
  result(): Misclassified[] {
    return [...this.kept].sort((a, b) => a.trueClass - b.trueClass || a.index - b.index);
  }
}
