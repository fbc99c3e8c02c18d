import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { ConfusionMatrix, MisclassifiedPicker, type Misclassified } from './confusion.js';
import type { DatasetSource, Split } from './dataset-source.js';
import { wholeDatasetBatchSize } from './memory.js';
import type { Network, Size3 } from './spec.js';
import { yieldToEventLoop } from './yield.js';

export interface Evaluation {
  /** Fraction of images whose most probable class is their label. */
  accuracy: number;
  /** Mean cross-entropy. */
  loss: number;
  count: number;
  /** Rows are true classes, columns predicted ones (MATLAB's confusionchart). */
  confusion: number[][];
  /** The first misclassified images of each true class, when evaluate was asked for them. */
  misclassified?: Misclassified[];
}

export interface EvaluateOptions {
  /** Keep up to `perClass` misclassified images of each true class, `total` in all. */
  misclassified?: { perClass: number; total: number };
}

/** A trained (or loaded) image classifier: the tfjs model, the network it came from, its class names. */
export class Classifier {
  constructor(
    readonly model: tfl.LayersModel,
    readonly network: Network,
    readonly classes: string[],
  ) {}

  get inputSize(): Size3 {
    return this.network.inputSize;
  }

  /**
   * Class probabilities of `count` images laid out as in a Batch (NHWC); `count * classes` values. At
   * most `batchSize` images go through the network at once, whatever the count (memory.ts counts
   * them); a signal stops it between batches, throwing its reason.
   */
  async predict(images: Float32Array, count: number, batchSize = wholeDatasetBatchSize, signal?: AbortSignal): Promise<Float32Array> {
    const [h, w, c] = this.inputSize;
    const per = h * w * c;
    if (images.length !== count * per) throw new Error(`expected ${count} images of ${h}x${w}x${c} (${count * per} values), got ${images.length}`);
    const k = this.classes.length;
    const out = new Float32Array(count * k);
    for (let start = 0; start < count; start += batchSize) {
      signal?.throwIfAborted();
      const n = Math.min(batchSize, count - start);
      const probs = tf.tidy(() => {
        const x = tf.tensor4d(images.subarray(start * per, (start + n) * per), [n, h, w, c]);
        return this.model.predict(x) as tf.Tensor;
      });
      out.set(await probs.data(), start * k);
      probs.dispose();
      await yieldToEventLoop();
    }
    return out;
  }

  /**
   * Accuracy and loss on a split of a dataset, streamed in batches of wholeDatasetBatchSize images;
   * null when the signal stopped it first.
   */
  evaluate(source: DatasetSource, split: Split): Promise<Evaluation>;
  evaluate(source: DatasetSource, split: Split, signal: AbortSignal | undefined, options?: EvaluateOptions): Promise<Evaluation | null>;
  async evaluate(source: DatasetSource, split: Split, signal?: AbortSignal, options: EvaluateOptions = {}): Promise<Evaluation | null> {
    const k = this.classes.length;
    const picker = options.misclassified ? new MisclassifiedPicker(k, options.misclassified.perClass, options.misclassified.total) : undefined;
    const score = new Score(k, picker);
    try {
      for await (const batch of source.batches(split, { batchSize: wholeDatasetBatchSize })) {
        score.add(await this.predict(batch.images, batch.count, wholeDatasetBatchSize, signal), batch.labels, batch.images);
      }
    } catch (err) {
      if (signal?.aborted && err === signal.reason) return null;
      throw err;
    }
    return score.result();
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * Accuracy, mean cross-entropy and the confusion matrix of predicted probabilities against labels,
 * added up batch by batch; a picker, when given, is offered each image with its prediction.
 */
export class Score {
  private count = 0;
  private correct = 0;
  private loss = 0;
  private readonly confusion: ConfusionMatrix;

  constructor(
    private readonly numClasses: number,
    private readonly picker?: MisclassifiedPicker,
  ) {
    this.confusion = new ConfusionMatrix(numClasses);
  }

  /** `images` (the batch's pixels) only matter to a picker. */
  add(probs: Float32Array, labels: ArrayLike<number>, images?: Float32Array): void {
    const k = this.numClasses;
    const per = images ? images.length / labels.length : 0;
    for (let i = 0; i < labels.length; i++) {
      const row = probs.subarray(i * k, (i + 1) * k);
      const label = labels[i]!;
      let best = 0;
      for (let j = 1; j < k; j++) if (row[j]! > row[best]!) best = j;
      if (best === label) this.correct++;
      this.confusion.add(label, best);
      this.loss -= Math.log(Math.max(row[label]!, 1e-12));
      if (this.picker && images) this.picker.offer(this.count + i, label, best, row[best]!, images.subarray(i * per, (i + 1) * per));
    }
    this.count += labels.length;
  }

  result(): Evaluation {
    const { count, correct, loss } = this;
    return {
      accuracy: count ? correct / count : 0,
      loss: count ? loss / count : 0,
      count,
      confusion: this.confusion.rows(),
      ...(this.picker ? { misclassified: this.picker.result() } : {}),
    };
  }
}
