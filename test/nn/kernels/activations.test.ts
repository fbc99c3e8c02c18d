import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { leakyReluWasm, tanhWasm } from '../../../src/nn/kernels/activations.js';
import { onCpu, randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';
import { compileWasmWithOptimizingTierOnly } from '../../helpers/wasm-tier.js';

beforeAll(async () => {
  await useTestBackend();
  compileWasmWithOptimizingTierOnly();
});

const activations: [string, (x: tf.Tensor) => tf.Tensor][] = [
  ['leakyRelu 0.1', (x) => tf.leakyRelu(x, 0.1)],
  ['leakyRelu 0.3', (x) => tf.leakyRelu(x, 0.3)],
  ['tanh', (x) => tf.tanh(x)],
];

describe('LeakyRelu and Tanh on wasm (activation.c)', () => {
  it('replace tfjs-backend-wasm\'s kernels', () => {
    expect(tf.getKernel(tf.LeakyRelu, 'wasm')).toBe(leakyReluWasm);
    expect(tf.getKernel(tf.Tanh, 'wasm')).toBe(tanhWasm);
  });

  for (const [name, f] of activations) {
    for (const shape of [[3, 7, 5, 6], [1, 3, 3, 1], [2, 5, 5, 9], [4097]]) {
      it(`${name}, ${shape.join('x')}: the cpu backend's values, over small, large and zero inputs`, async () => {
        const size = shape.reduce((a, b) => a * b, 1);
        // Values across tanh's ranges: tiny (returned as is), its rational approximation, and saturated.
        const scales = [1e-5, 3e-4, 0.01, 0.5, 2, 6, 9, 40];
        const x = randomArray(size, 17).map((v, i) => (i % 11 === 0 ? 0 : v * scales[i % scales.length]!));
        const run = () => tf.tidy(() => f(tf.tensor(x, shape)).dataSync());
        expect(worstMismatch(run(), await onCpu(run), 1e-7, 3e-6)).toBeLessThanOrEqual(1);
      });
    }
  }

  it('keeps tanh within [-1, 1] and odd', () => {
    const x = tf.tensor([-100, -8, -7.9, -1e-3, 1e-3, 7.9, 8, 100, Infinity, -Infinity]);
    const y = tf.tanh(x).dataSync();
    const neg = tf.tanh(tf.neg(x)).dataSync();
    for (let i = 0; i < y.length; i++) {
      expect(Math.abs(y[i]!)).toBeLessThanOrEqual(1);
      expect(neg[i]).toBe(-y[i]!);
    }
  });
});
