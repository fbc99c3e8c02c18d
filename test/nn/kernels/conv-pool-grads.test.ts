import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConvInputGradient, InterleavePhases, SpreadPad } from '../../../src/nn/kernels/names.js';
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

describe('convolution gradients on wasm: the input gradient with real products only or as an XNNPACK convolution, dilation without a zero-spread filter', () => {
  // Which way the input gradient goes (realProductsPay): the real-products kernel where it skips a
  // tenth of the pairs or dy has 12 channels or more, else the XNNPACK convolution of the spread dy,
  // phase by phase when strided.
  const paths = { realProducts: ConvInputGradient, phases: InterleavePhases, spread: SpreadPad } as const;
  const cases: (ConvCase & { path: keyof typeof paths })[] = [
    { x: [3, 13, 11, 3], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same', dilation: [1, 1], path: 'realProducts' }, // 0.89 of the convolution's pairs inside the input
    { x: [2, 14, 14, 8], filter: [3, 3, 8, 16], strides: [2, 2], pad: 'same', dilation: [1, 1], path: 'realProducts' },
    { x: [2, 15, 13, 5], filter: [5, 5, 5, 7], strides: [2, 2], pad: 'same', dilation: [1, 1], path: 'realProducts' }, // odd input, stride 2
    { x: [1, 9, 10, 2], filter: [4, 2, 2, 3], strides: [3, 2], pad: 'valid', dilation: [1, 1], path: 'realProducts' }, // rows the forward never reads
    { x: [2, 8, 8, 4], filter: [3, 3, 4, 6], strides: [2, 1], pad: 'same', dilation: [1, 1], path: 'realProducts' },
    { x: [1, 28, 28, 1], filter: [5, 5, 1, 20], strides: [1, 1], pad: 'valid', dilation: [1, 1], path: 'realProducts' }, // batch 1, the seed's layer
    { x: [2, 12, 12, 3], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same', dilation: [2, 2], path: 'realProducts' },
    { x: [1, 11, 13, 4], filter: [3, 2, 4, 6], strides: [1, 1], pad: 'valid', dilation: [2, 3], path: 'realProducts' },
    { x: [3, 14, 9, 2], filter: [5, 3, 2, 4], strides: [1, 1], pad: 'same', dilation: [2, 1], path: 'realProducts' },
    { x: [1, 9, 9, 3], filter: [1, 1, 3, 4], strides: [2, 2], pad: 'valid', dilation: [1, 1], path: 'phases' }, // phases no tap reaches: zeros
    { x: [2, 11, 10, 3], filter: [2, 2, 3, 5], strides: [3, 3], pad: 'same', dilation: [1, 1], path: 'phases' }, // filter smaller than the stride
    { x: [2, 11, 10, 3], filter: [2, 2, 3, 12], strides: [3, 3], pad: 'same', dilation: [1, 1], path: 'realProducts' }, // pixels no tap reaches: zeros
    { x: [1, 16, 16, 4], filter: [3, 3, 4, 6], strides: [2, 2], pad: 'same', dilation: [1, 1], path: 'phases' }, // even size: no padding on top
    { x: [1, 16, 16, 4], filter: [3, 3, 4, 14], strides: [2, 2], pad: 'same', dilation: [1, 1], path: 'realProducts' },
    { x: [2, 12, 13, 5], filter: [4, 5, 5, 3], strides: [2, 3], pad: 'valid', dilation: [1, 1], path: 'realProducts' },
    { x: [2, 9, 11, 13], filter: [3, 3, 13, 6], strides: [1, 1], pad: 'valid', dilation: [1, 1], path: 'realProducts' }, // ci 13: a block of 8, one of 5
    { x: [2, 8, 7, 20], filter: [3, 3, 20, 9], strides: [1, 1], pad: 'same', dilation: [1, 1], path: 'realProducts' }, // ci 20: blocks of 8, 8, 4
    { x: [1, 10, 11, 12], filter: [3, 4, 12, 17], strides: [1, 2], pad: 'same', dilation: [1, 1], path: 'realProducts' },
    { x: [2, 6, 30, 4], filter: [3, 3, 4, 5], strides: [1, 1], pad: 'valid', dilation: [1, 1], path: 'realProducts' }, // rows of 28 positions in blocks of up to 6
    { x: [2, 20, 18, 5], filter: [3, 3, 5, 6], strides: [1, 1], pad: 'same', dilation: [1, 1], path: 'spread' }, // 0.93 of the pairs inside, dy of 6 channels
    { x: [2, 20, 18, 5], filter: [3, 3, 5, 12], strides: [1, 1], pad: 'same', dilation: [1, 1], path: 'realProducts' }, // 0.93, dy of 12 channels
    { x: [1, 22, 20, 4], filter: [3, 3, 4, 6], strides: [2, 2], pad: 'same', dilation: [1, 1], path: 'phases' }, // 0.94, output 11x10
    { x: [1, 30, 26, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'same', dilation: [2, 1], path: 'spread' }, // 0.93
  ];
  for (const [i, c] of cases.entries()) {
    it(`matches the cpu backend (zero-spread filter for dilation): x ${c.x.join('x')}, filter ${c.filter.join('x')}, strides ${c.strides}, dilation ${c.dilation}, pad ${c.pad}, by ${c.path}`, async () => {
      const { ours, cpu, kernels } = await convGradientsBothWays(c, 30 + i);
      for (const [path, kernel] of Object.entries(paths)) expect(kernels.includes(kernel), kernel).toBe(path === c.path);
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
