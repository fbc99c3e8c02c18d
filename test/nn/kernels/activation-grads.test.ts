import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ActivationGrad } from '../../../src/nn/kernels/names.js';
import { onCpu, randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';
import { compileWasmWithOptimizingTierOnly } from '../../helpers/wasm-tier.js';

beforeAll(async () => {
  await useTestBackend();
  compileWasmWithOptimizingTierOnly();
});

const activations: [string, (x: tf.Tensor) => tf.Tensor][] = [
  ['clippedRelu (clipByValue 0..6)', (x) => tf.clipByValue(x, 0, 6)],
  ['leakyRelu 0.1', (x) => tf.leakyRelu(x, 0.1)],
  ['relu', (x) => tf.relu(x)],
  ['tanh', (x) => tf.tanh(x)],
];

describe('one-pass activation gradients on wasm (activation_grad.c)', () => {
  for (const [name, f] of activations) {
    for (const shape of [[3, 7, 5, 6], [1, 3, 3, 1], [2, 5, 5, 9]]) {
      it(`${name}, ${shape.join('x')}: the cpu backend's gradient, bounds and zeros included`, async () => {
        const size = shape.reduce((a, b) => a * b, 1);
        const x = randomArray(size, 7, -8, 8).map((v, i) => (i % 5 === 0 ? 0 : i % 7 === 0 ? 6 : v));
        const dy = randomArray(size, 8);
        const run = () => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), tf.tensor(dy, shape))))(tf.tensor(x, shape)).dataSync());
        const profile = await tf.profile(run);
        expect(profile.kernels.some((k) => k.name === ActivationGrad)).toBe(true);
        expect(worstMismatch(run(), await onCpu(run), 1e-6, 1e-5)).toBeLessThanOrEqual(1);
      });
    }
  }
});
