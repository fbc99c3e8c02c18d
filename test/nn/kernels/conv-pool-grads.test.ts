import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { InterleavePhases } from '../../../src/nn/kernels/names.js';
import { onCpu, randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';
import { convGradientsBothWays, type ConvCase } from '../../helpers/conv-gradients.js';
import { compileWasmWithOptimizingTierOnly } from '../../helpers/wasm-tier.js';

beforeAll(async () => {
  await useTestBackend();
  compileWasmWithOptimizingTierOnly();
});

type Shape4 = [number, number, number, number];
type Pad = 'valid' | 'same' | number;
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('convolution gradients on wasm: the input gradient as an XNNPACK convolution, dilation without a zero-spread filter', () => {
  const cases: ConvCase[] = [
    { x: [3, 13, 11, 3], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same', dilation: [1, 1] },
    { x: [2, 14, 14, 8], filter: [3, 3, 8, 16], strides: [2, 2], pad: 'same', dilation: [1, 1] },
    { x: [2, 15, 13, 5], filter: [5, 5, 5, 7], strides: [2, 2], pad: 'same', dilation: [1, 1] }, // odd input, stride 2
    { x: [1, 9, 10, 2], filter: [4, 2, 2, 3], strides: [3, 2], pad: 'valid', dilation: [1, 1] }, // rows the forward never reads
    { x: [2, 8, 8, 4], filter: [3, 3, 4, 6], strides: [2, 1], pad: 'same', dilation: [1, 1] },
    { x: [1, 28, 28, 1], filter: [5, 5, 1, 20], strides: [1, 1], pad: 'valid', dilation: [1, 1] }, // batch 1, the seed's layer
    { x: [2, 12, 12, 3], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same', dilation: [2, 2] },
    { x: [1, 11, 13, 4], filter: [3, 2, 4, 6], strides: [1, 1], pad: 'valid', dilation: [2, 3] },
    { x: [3, 14, 9, 2], filter: [5, 3, 2, 4], strides: [1, 1], pad: 'same', dilation: [2, 1] },
    { x: [1, 9, 9, 3], filter: [1, 1, 3, 4], strides: [2, 2], pad: 'valid', dilation: [1, 1] }, // phases no tap reaches: zeros
    { x: [2, 11, 10, 3], filter: [2, 2, 3, 5], strides: [3, 3], pad: 'same', dilation: [1, 1] }, // filter smaller than the stride
    { x: [1, 16, 16, 4], filter: [3, 3, 4, 6], strides: [2, 2], pad: 'same', dilation: [1, 1] }, // even size: no padding on top
    { x: [2, 12, 13, 5], filter: [4, 5, 5, 3], strides: [2, 3], pad: 'valid', dilation: [1, 1] },
  ];
  for (const [i, c] of cases.entries()) {
    it(`matches the cpu backend (zero-spread filter for dilation): x ${c.x.join('x')}, filter ${c.filter.join('x')}, strides ${c.strides}, dilation ${c.dilation}, pad ${c.pad}`, async () => {
      const { ours, cpu, used } = await convGradientsBothWays(c, 30 + i, InterleavePhases);
      expect(used, 'a strided input gradient goes phase by phase, without a spread dy').toBe(c.strides[0] > 1 || c.strides[1] > 1);
      for (const [k, name] of ['y', 'dx', 'dw', 'db'].entries()) {
        expect(worstMismatch(ours[k]!, cpu[k]!, 1e-3, 1e-4), name).toBeLessThanOrEqual(1);
      }
    });
  }
});

describe('MaxPoolGrad and AvgPoolGrad for wasm (pool_grad.c)', () => {
  const cases: { x: Shape4; pool: [number, number]; strides: [number, number]; pad: Pad; ties?: boolean }[] = [
    { x: [4, 12, 12, 8], pool: [2, 2], strides: [2, 2], pad: 'valid' },
    { x: [2, 13, 11, 5], pool: [3, 3], strides: [2, 2], pad: 'valid' }, // odd sizes, overlapping windows, a channel tail
    { x: [1, 9, 7, 6], pool: [3, 3], strides: [1, 1], pad: 'same' },
    { x: [3, 10, 10, 1], pool: [3, 2], strides: [2, 3], pad: 'same' },
    { x: [2, 8, 9, 7], pool: [3, 3], strides: [2, 2], pad: 1 },
    { x: [2, 6, 6, 4], pool: [2, 2], strides: [1, 1], pad: 'valid', ties: true }, // the first largest value takes the gradient
  ];
  for (const [i, c] of cases.entries()) {
    for (const kind of ['max', 'avg'] as const) {
      it(`${kind}: matches the cpu backend: x ${c.x.join('x')}, pool ${c.pool}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}${c.ties ? ', ties' : ''}`, async () => {
        const values = randomArray(size(c.x), 70 + i).map((v) => (c.ties ? Math.round(v * 2) / 2 : v));
        const pool = (x: tf.Tensor4D) => (kind === 'max' ? tf.maxPool(x, c.pool, c.strides, c.pad) : tf.avgPool(x, c.pool, c.strides, c.pad));
        const run = () =>
          tf.tidy(() => {
            const x = tf.tensor4d(values, c.x);
            const y = pool(x);
            const dy = tf.tensor(randomArray(y.size, 80 + i), y.shape);
            return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a as tf.Tensor4D), dy)))(x).dataSync();
          });
        const wasm = run();
        const cpu = await onCpu(run);
        expect(worstMismatch(wasm, cpu, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      });
    }
  }
});
