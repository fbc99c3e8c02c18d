import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { defaultLayerName } from './names.js';
import type { Padding4 } from '../spec.js';

/**
 * Pads height and width with a constant. Max pooling with explicit padding pads with the lowest
 * float32 (as MATLAB pads with -Inf, which JSON cannot hold), so a padded cell never wins the max.
 */
export class Pad2D extends tfl.layers.Layer {
  static className = 'trainyard>Pad2D';
  static readonly lowest = -3.4028234663852886e38;
  readonly padding: Padding4;
  readonly value: number;

  constructor(args: { name?: string; padding: Padding4; value: number }) {
    super({ name: args.name ?? defaultLayerName('pad2d') });
    this.padding = [...args.padding];
    this.value = args.value;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const [n, h, w, c] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const [t, b, l, r] = this.padding;
    return [n ?? null, h == null ? null : h + t + b, w == null ? null : w + l + r, c ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const [t, b, l, r] = this.padding;
    return tf.pad(x, [[0, 0], [t, b], [l, r], [0, 0]], this.value);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding, value: this.value };
  }
}

tf.serialization.registerClass(Pad2D, 'trainyard', 'Pad2D');
