import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { wholeDatasetBatchSize } from './memory.js';
import type { Network, Size3 } from './spec.js';
import { yieldToEventLoop } from './yield.js';

export interface Evaluation {
  /** Fraction of images whose most probable class is their label. */
  accuracy: number;
  /** Mean cross-entropy. */
  loss: number;
  count: number;
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
   * Class probabilities of `count` images laid out as in a Dataset; `count * classes` values. At
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

  /** Accuracy and loss on a dataset, in bounded batches; null when the signal stopped it first. */
  evaluate(data: Dataset): Promise<Evaluation>;
  evaluate(data: Dataset, signal: AbortSignal | undefined): Promise<Evaluation | null>;
  async evaluate(data: Dataset, signal?: AbortSignal): Promise<Evaluation | null> {
    try {
      const probs = await this.predict(data.images, data.count, wholeDatasetBatchSize, signal);
      return scoreProbabilities(probs, data.labels, this.classes.length);
    } catch (err) {
      if (signal?.aborted && err === signal.reason) return null;
      throw err;
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** Accuracy and mean cross-entropy of predicted probabilities against labels. */
export function scoreProbabilities(probs: Float32Array, labels: ArrayLike<number>, numClasses: number): Evaluation {
  const count = labels.length;
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < count; i++) {
    const row = probs.subarray(i * numClasses, (i + 1) * numClasses);
    let best = 0;
    for (let j = 1; j < numClasses; j++) if (row[j]! > row[best]!) best = j;
    if (best === labels[i]) correct++;
    loss -= Math.log(Math.max(row[labels[i]!]!, 1e-12));
  }
  return { accuracy: count ? correct / count : 0, loss: count ? loss / count : 0, count };
}
