import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { defaultLayerName } from './names.js';
import type { Normalization, Size3 } from '../spec.js';

export interface ImageInputArgs {
  name?: string;
  inputSize: Size3;
  normalization: Normalization;
}

/**
 * MATLAB's imageInputLayer: the model's input, normalising every image as `(x - offset) * scale`.
 * offset and scale are statistics of the training set (the mean image for 'zerocenter', per-channel
 * mean and 1/std for 'zscore', per-channel min and 1/(max - min) for 'rescale-zero-one'), computed
 * before training and kept as non-trainable weights, so the saved model normalises by itself.
 */
export class ImageInput extends tfl.layers.Layer {
  static className = 'trainyard>ImageInput';
  readonly inputSize: Size3;
  readonly normalization: Normalization;
  private offset: tfl.LayerVariable | null = null;
  private scale: tfl.LayerVariable | null = null;

  constructor(args: ImageInputArgs) {
    super({ name: args.name ?? defaultLayerName('imageinput'), batchInputShape: [null, ...args.inputSize], trainable: false });
    this.inputSize = [...args.inputSize];
    this.normalization = args.normalization;
  }

  override build(): void {
    if (this.normalization !== 'none') {
      const [h, w, c] = this.inputSize;
      const offsetShape = this.normalization === 'zerocenter' ? [h, w, c] : [1, 1, c];
      this.offset = this.addWeight('offset', offsetShape, 'float32', tfl.initializers.zeros(), undefined, false);
      this.scale = this.addWeight('scale', [1, 1, c], 'float32', tfl.initializers.ones(), undefined, false);
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (!this.offset || !this.scale) return tf.clone(x);
    return tf.mul(tf.sub(x, this.offset.read()), this.scale.read());
  }

  /** Sets the statistics computed from the training set. */
  setStatistics(offset: tf.Tensor, scale: tf.Tensor): void {
    if (!this.offset || !this.scale) return;
    this.offset.write(offset);
    this.scale.write(scale);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { batchInputShape: _shape, ...base } = super.getConfig();
    return { ...base, inputSize: this.inputSize, normalization: this.normalization };
  }
}

tf.serialization.registerClass(ImageInput, 'trainyard', 'ImageInput');
