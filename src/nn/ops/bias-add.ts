import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from '../kernels/index.js';
import { ChannelSums } from '../kernels/names.js';

/**
 * x + bias along the last axis. Its bias gradient, the sum of dy over every other axis, is one pass
 * on wasm (channel_sums.c) where tf.add's gradient would transpose dy for wasm's Sum.
 */
export function biasAdd(x: tf.Tensor, bias: tf.Tensor1D): tf.Tensor {
  return hasKernel(ChannelSums) ? biasAddFused(x, bias) : tf.add(x, bias);
}

const biasAddFused: (x: tf.Tensor, bias: tf.Tensor1D) => tf.Tensor = tf.customGrad(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, bias] = args as [tf.Tensor, tf.Tensor1D];
    return {
      value: tf.add(x, bias),
      gradFunc: (dy: tf.Tensor) => [dy, tf.engine().runKernel(ChannelSums, { x: dy }) as tf.Tensor],
    };
  },
) as (x: tf.Tensor, bias: tf.Tensor1D) => tf.Tensor;
