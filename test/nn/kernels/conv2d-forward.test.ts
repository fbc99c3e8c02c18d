import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { conv2dOnWasm } from '../../../src/nn/kernels/conv2d-with-bias.js';
import { conv2dWithBias, dilateFilter } from '../../../src/nn/ops/conv.js';
import { Heap } from '../../../src/nn/wasm/heap.js';
import { onCpu, randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';
import { compileWasmWithOptimizingTierOnly } from '../../helpers/wasm-tier.js';

beforeAll(async () => {
  await useTestBackend();
  compileWasmWithOptimizingTierOnly();
});

afterEach(() => {
  vi.restoreAllMocks();
});

type Shape4 = [number, number, number, number];
type Explicit = [number, number, number, number];

interface Case {
  x: Shape4;
  filter: Shape4;
  strides: [number, number];
  pad: 'valid' | 'same' | Explicit;
  dilation: [number, number];
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The cpu backend's conv2d (a dilated filter spread out with zeros, as tfjs's cpu conv2d takes no dilation with strides) + bias. */
function reference(c: Case, x: Float32Array, w: Float32Array, b: Float32Array): Promise<Float32Array> {
  return onCpu(() => tf.tidy(() => {
    const pad = Array.isArray(c.pad) ? [[0, 0], [c.pad[0], c.pad[1]], [c.pad[2], c.pad[3]], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]] : c.pad;
    const y = tf.conv2d(tf.tensor4d(x, c.x), dilateFilter(tf.tensor4d(w, c.filter), c.dilation), c.strides, pad);
    return tf.add(y, tf.tensor1d(b)).dataSync() as Float32Array;
  }));
}

/** conv2d_forward.c's output through the Conv2DWithBias kernel ('same', 'valid') or conv2dOnWasm (explicit padding), and the kernels it ran. */
function ours(c: Case, x: Float32Array, w: Float32Array, b: Float32Array): { y: Float32Array; kernels: string[] } {
  const runSplit = vi.spyOn(Heap.prototype, 'runSplit');
  const y = tf.tidy(() => {
    const [xt, wt, bt] = [tf.tensor4d(x, c.x), tf.tensor4d(w, c.filter), tf.tensor1d(b)];
    if (!Array.isArray(c.pad)) return conv2dWithBias(xt, wt, bt, c.strides, c.pad, c.dilation).dataSync() as Float32Array;
    const out = conv2dOnWasm(tf.backend(), xt, wt, bt, c.strides, c.dilation, c.pad);
    return tf.engine().makeTensorFromTensorInfo(out).dataSync() as Float32Array;
  });
  const kernels = runSplit.mock.calls.map(([name]) => name);
  runSplit.mockRestore();
  return { y, kernels };
}

// Odd sizes, strides and dilations (alone and together), 'same' (uneven with an even filter),
// 'valid' and explicit padding, batch 1, ci = 1 and 3, ci and co not multiples of 4 (co of 1 to 9:
// one, two and three vectors, and a last vector of 1, 2 or 3 lanes), rows narrower than a block
// (4 pixels) and wider ones with a tail.
const cases: Case[] = [
  { x: [4, 28, 28, 1], filter: [5, 5, 1, 20], strides: [1, 1], pad: 'valid', dilation: [1, 1] }, // the seed's layer
  { x: [3, 9, 7, 3], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same', dilation: [1, 1] },
  { x: [2, 11, 13, 5], filter: [3, 2, 5, 3], strides: [2, 3], pad: 'valid', dilation: [1, 1] },
  { x: [2, 10, 9, 2], filter: [4, 4, 2, 6], strides: [2, 2], pad: 'same', dilation: [1, 1] },
  { x: [1, 12, 11, 3], filter: [3, 3, 3, 9], strides: [1, 1], pad: 'same', dilation: [2, 2] },
  { x: [2, 13, 12, 7], filter: [3, 2, 7, 10], strides: [2, 1], pad: 'valid', dilation: [2, 3] },
  { x: [1, 7, 8, 3], filter: [3, 3, 3, 2], strides: [1, 2], pad: [2, 0, 1, 3], dilation: [1, 1] },
  { x: [2, 6, 9, 4], filter: [2, 3, 4, 7], strides: [1, 1], pad: [1, 2, 0, 1], dilation: [2, 1] },
  { x: [5, 6, 6, 7], filter: [1, 1, 7, 4], strides: [1, 1], pad: 'valid', dilation: [1, 1] },
  { x: [1, 3, 2, 6], filter: [3, 3, 6, 1], strides: [1, 1], pad: 'same', dilation: [1, 1] },
  { x: [2, 16, 16, 16], filter: [3, 3, 16, 32], strides: [1, 1], pad: 'same', dilation: [1, 1] },
  { x: [2, 19, 17, 8], filter: [3, 3, 8, 12], strides: [2, 2], pad: 'same', dilation: [1, 1] },
];

describe('the forward convolution on wasm (conv2d_forward.c)', () => {
  for (const [i, c] of cases.entries()) {
    it(`matches the cpu backend's conv2d + bias: x ${c.x.join('x')}, filter ${c.filter.join('x')}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}, dilation ${c.dilation}`, async () => {
      const [x, w, b] = [randomArray(size(c.x), 300 + i), randomArray(size(c.filter), 400 + i), randomArray(c.filter[3], 500 + i)];
      const { y, kernels } = ours(c, x, w, b);
      expect(kernels).toContain('conv2d_forward');
      // Sums of up to 800 products of O(1) values, in another order than the cpu backend's.
      expect(worstMismatch(y, await reference(c, x, w, b), 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    });
  }

  it('leaves a filter of more than 3x3x256 taps to XNNPACK (ourKernelIsFaster), with the same result', async () => {
    const c: Case = { x: [1, 5, 4, 257], filter: [3, 3, 257, 6], strides: [1, 1], pad: 'same', dilation: [1, 1] };
    const [x, w, b] = [randomArray(size(c.x), 700), randomArray(size(c.filter), 701), randomArray(6, 702)];
    const { y, kernels } = ours(c, x, w, b);
    expect(kernels).not.toContain('conv2d_forward');
    expect(worstMismatch(y, await reference(c, x, w, b), 1e-4, 1e-4)).toBeLessThanOrEqual(1);
  });

  it('gives zeros plus the convolution without a bias, and an empty output for an empty batch', () => {
    const x = tf.tensor4d(randomArray(2 * 5 * 5 * 3, 600), [2, 5, 5, 3]);
    const w = tf.tensor4d(randomArray(3 * 3 * 3 * 6, 601), [3, 3, 3, 6]);
    const withZeros = conv2dOnWasm(tf.backend(), x, w, tf.zeros([6]), [1, 1], [1, 1], [1, 1, 1, 1]);
    const without = conv2dOnWasm(tf.backend(), x, w, null, [1, 1], [1, 1], [1, 1, 1, 1]);
    const [a, b] = [withZeros, without].map((t) => tf.engine().makeTensorFromTensorInfo(t));
    expect(b!.shape).toEqual([2, 5, 5, 6]);
    expect(b!.dataSync()).toEqual(a!.dataSync());
    const empty = tf.engine().makeTensorFromTensorInfo(conv2dOnWasm(tf.backend(), tf.zeros([0, 5, 5, 3]), w, null, [1, 1], [1, 1], [0, 0, 0, 0]));
    expect(empty.shape).toEqual([0, 3, 3, 6]);
    tf.dispose([x, w, a!, b!, empty]);
  });
});
