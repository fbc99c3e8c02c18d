/**
 * A process that starts the wasm backend on 2 threads, runs a convolution's gradients on it and
 * prints one JSON line; test/nn/backends/wasm-threads.test.ts checks that it ends by itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/nn/backend.js';
import { conv2dWithBias } from '../../src/nn/ops/conv.js';

const info = await initBackend('wasm', { threads: 2 });
const values = tf.tidy(() => {
  const x = tf.randomNormal([8, 16, 16, 16]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 16, 32]) as tf.Tensor4D;
  const b = tf.zeros([32]) as tf.Tensor1D;
  const [dx] = tf.grads((a: tf.Tensor) => tf.sum(conv2dWithBias(a as tf.Tensor4D, w, b, [1, 1], 'same', [1, 1])))([x]);
  return dx!.dataSync();
});
console.log(JSON.stringify({ threads: Number(/(\d+) threads/.exec(info.reason)?.[1]), finite: values.every(Number.isFinite) }));
