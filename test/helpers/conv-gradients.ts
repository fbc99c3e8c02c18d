import * as tf from '@tensorflow/tfjs-core';
import { conv2dWithBias, dilateFilter } from '../../src/nn/ops/conv.js';
import { onCpu, randomArray } from './backend.js';

type Shape4 = [number, number, number, number];

/** A convolution layer's case: input and filter shapes, strides, padding, dilation. */
export interface ConvCase {
  x: Shape4;
  filter: Shape4;
  strides: [number, number];
  pad: 'valid' | 'same';
  dilation: [number, number];
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * y, dx, dw and db of conv2dWithBias on the backend in use and of tf.conv2d + tf.add with a
 * zero-spread filter on the cpu backend (the reference), for random values drawn from `seed`;
 * and the names of the kernels the backend's run used.
 */
export async function convGradientsBothWays(c: ConvCase, seed: number): Promise<{ ours: Float32Array[]; cpu: Float32Array[]; kernels: string[] }> {
  const x = randomArray(size(c.x), seed);
  const w = randomArray(size(c.filter), seed + 10);
  const b = randomArray(c.filter[3], seed + 20);
  const run = (conv: (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D) =>
    tf.tidy(() => {
      const [xt, wt, bt] = [tf.tensor4d(x, c.x), tf.tensor4d(w, c.filter), tf.tensor1d(b)];
      const y = conv(xt, wt, bt);
      const dy = tf.tensor(randomArray(y.size, seed + 30), y.shape);
      const grads = tf.grads((a: tf.Tensor, k: tf.Tensor, bias: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, k as tf.Tensor4D, bias as tf.Tensor1D), dy)))([xt, wt, bt]);
      return [y, ...grads].map((t) => t.dataSync() as Float32Array);
    });
  const ours = (a: tf.Tensor4D, k: tf.Tensor4D, bias: tf.Tensor1D) => conv2dWithBias(a, k, bias, c.strides, c.pad, c.dilation);
  const oursValues = run(ours);
  const kernels = (await tf.profile(() => run(ours))).kernels.map((k) => k.name);
  const cpu = await onCpu(() => run((a, k, bias) => tf.add(tf.conv2d(a, dilateFilter(k, c.dilation), c.strides, c.pad), bias)));
  return { ours: oursValues, cpu, kernels };
}
