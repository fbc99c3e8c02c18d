import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { onCpu, randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';
import { compileWasmWithOptimizingTierOnly } from '../../helpers/wasm-tier.js';

beforeAll(async () => {
  await useTestBackend();
  compileWasmWithOptimizingTierOnly();
});

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
}

/** Gradients of sum(conv2d(x, w) * dy) with respect to the filter and the input, on the current backend. */
function convGradients(c: Case, seed: number) {
  return tf.tidy(() => {
    const x = tf.tensor4d(randomArray(c.x.reduce((a, b) => a * b), seed), c.x);
    const w = tf.tensor4d(randomArray(c.filter.reduce((a, b) => a * b), seed + 1), c.filter);
    const y = tf.conv2d(x, w, c.strides, c.pad);
    const dy = tf.tensor4d(randomArray(y.size, seed + 2), y.shape);
    const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, c.strides, c.pad), dy)))([x, w]);
    return { dx: dx!.dataSync(), dw: dw!.dataSync() };
  });
}

const cases: Case[] = [
  { x: [4, 28, 28, 1], filter: [5, 5, 1, 20], strides: [1, 1], pad: 'valid' }, // the seed's layer
  { x: [3, 9, 7, 3], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same' },
  { x: [2, 11, 13, 4], filter: [3, 2, 4, 3], strides: [2, 3], pad: 'valid' },
  { x: [2, 10, 9, 2], filter: [4, 4, 2, 6], strides: [2, 2], pad: 'same' }, // even filter: uneven 'same' padding
  { x: [1, 7, 8, 3], filter: [3, 3, 3, 2], strides: [1, 2], pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { x: [5, 6, 6, 7], filter: [1, 1, 7, 4], strides: [1, 1], pad: 'valid' },
  { x: [2, 19, 19, 2], filter: [3, 3, 2, 64], strides: [1, 1], pad: 'valid' }, // 17 rows in bands of 3 (16 KiB of dy): a last band of 2
];

describe('Conv2DBackpropFilter for wasm (conv2d_backprop_filter.c)', () => {
  it('is registered for wasm (stock tfjs-backend-wasm lacks it)', () => {
    expect(tf.getKernelsForBackend('wasm').map((k) => k.kernelName)).toContain(tf.Conv2DBackpropFilter);
  });

  for (const [i, c] of cases.entries()) {
    it(`matches the cpu backend: x ${c.x.join('x')}, filter ${c.filter.join('x')}, strides ${c.strides.join(',')}, pad ${JSON.stringify(c.pad)}`, async () => {
      const wasm = convGradients(c, 100 + i);
      const cpu = await onCpu(() => convGradients(c, 100 + i));
      // Both sum the same float32 products in different orders; sums of up to ~10^4 terms of O(1).
      expect(worstMismatch(wasm.dw, cpu.dw, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
      expect(worstMismatch(wasm.dx, cpu.dx, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    });
  }
});
