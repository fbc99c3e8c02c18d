import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../../src/nn/backend.js';
import { conv2dWithBias } from '../../../src/nn/ops/conv.js';
import { Heap } from '../../../src/nn/wasm/heap.js';
import { KernelPool, splitRange } from '../../../src/nn/wasm/kernel-pool.js';
import { onCpu, randomArray, worstMismatch } from '../../helpers/backend.js';
import { convGradientsBothWays, type ConvCase } from '../../helpers/conv-gradients.js';
import { everyWasmKernelNetworkJson, expectFlatMemoryOverTenJobs } from '../../helpers/flat-memory.js';
import { compileWasmWithOptimizingTierOnly } from '../../helpers/wasm-tier.js';

// Each test file runs in its own process (vitest's forks pool), so this one can start the threaded build.
beforeAll(async () => {
  compileWasmWithOptimizingTierOnly();
  await initBackend('wasm', { threads: 2 });
  // Every split below happens on small shapes (the cpu backend computes the references).
  Heap.minWorkPerPart = 1;
});

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

/** Gradients of sum(conv2d(x, w) * dy) with respect to the filter and the input, on the current backend. */
function convGradients(xShape: [number, number, number, number], filter: [number, number, number, number], strides: [number, number], pad: Pad, seed: number) {
  return tf.tidy(() => {
    const x = tf.tensor4d(randomArray(xShape.reduce((a, b) => a * b), seed), xShape);
    const w = tf.tensor4d(randomArray(filter.reduce((a, b) => a * b), seed + 1), filter);
    const y = tf.conv2d(x, w, strides, pad);
    const dy = tf.tensor4d(randomArray(y.size, seed + 2), y.shape);
    const [dx, dw] = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, strides, pad), dy)))([x, w]);
    return { dx: dx!.dataSync(), dw: dw!.dataSync() };
  });
}

describe('trainyard\'s kernel pool (tfjs\'s threaded build on 2 threads)', () => {
  it('gives the kernels a second thread', () => {
    expect(Heap.of(tf.backend()).threads).toBe(2);
  });

  it('splits ranges into whole granules, covering every index once', () => {
    expect(splitRange(7, 8)).toHaveLength(7);
    expect(splitRange(27, 2, 2)).toEqual([[0, 14], [14, 27]]);
    expect(splitRange(9, 2, 2)).toEqual([[0, 4], [4, 9]]);
    expect(splitRange(1, 2, 2)).toEqual([[0, 1]]);
    expect(splitRange(10, 3)).toEqual([[0, 3], [3, 6], [6, 10]]);
  });

  // Odd tap counts (an odd last range), odd sizes, strides, 'same', explicit and uneven padding,
  // co not a multiple of 4, batch 1.
  const cases: { x: [number, number, number, number]; filter: [number, number, number, number]; strides: [number, number]; pad: Pad }[] = [
    { x: [3, 9, 7, 3], filter: [3, 3, 3, 10], strides: [1, 1], pad: 'same' },
    { x: [1, 28, 28, 1], filter: [5, 5, 1, 20], strides: [1, 1], pad: 'valid' },
    { x: [2, 11, 13, 5], filter: [5, 3, 5, 8], strides: [2, 1], pad: 'same' },
    { x: [2, 10, 11, 4], filter: [4, 4, 4, 13], strides: [2, 3], pad: [[0, 0], [2, 1], [0, 3], [0, 0]] },
    { x: [4, 12, 12, 16], filter: [5, 5, 16, 32], strides: [1, 1], pad: 'valid' },
  ];
  for (const [i, c] of cases.entries()) {
    it(`filter gradient split over both threads matches the cpu backend: x ${c.x.join('x')}, filter ${c.filter.join('x')}, strides ${c.strides.join(',')}, pad ${JSON.stringify(c.pad)}`, async () => {
      const { value: ours, names } = pooled(() => convGradients(c.x, c.filter, c.strides, c.pad, 200 + i));
      expect(names).toContain('conv2d_backprop_filter');
      if (c.pad !== 'valid') expect(names).toContain('pad_nhwc');
      const cpu = await onCpu(() => convGradients(c.x, c.filter, c.strides, c.pad, 200 + i));
      expect(worstMismatch(ours.dw, cpu.dw, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
      expect(worstMismatch(ours.dx, cpu.dx, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    });
  }

  const dilated: ConvCase[] = [
    { x: [2, 11, 9, 6], filter: [3, 3, 6, 16], strides: [1, 1], pad: 'same', dilation: [2, 2] },
    { x: [1, 17, 15, 3], filter: [5, 3, 3, 12], strides: [1, 1], pad: 'valid', dilation: [2, 3] },
  ];
  for (const [i, c] of dilated.entries()) {
    it(`a dilated convolution's gradients split over both threads match the cpu backend: x ${c.x.join('x')}, filter ${c.filter.join('x')}, dilation ${c.dilation}, pad ${c.pad}`, async () => {
      const { value, names } = pooled(() => convGradientsBothWays(c, 230 + i));
      const { ours, cpu } = await value;
      expect(names).toContain('conv2d_backprop_filter');
      expect(names.includes('conv_input_gradient'), 'dx computed image by image').toBe(c.x[0] > 1);
      for (const [k, name] of ['y', 'dx', 'dw', 'db'].entries()) {
        expect(worstMismatch(ours[k]!, cpu[k]!, 1e-3, 1e-4), name).toBeLessThanOrEqual(1);
      }
    });
  }

  /** Runs fn and the names of the kernels it handed to the pool. */
  function pooled<T>(fn: () => T): { value: T; names: string[] } {
    const run = vi.spyOn(KernelPool.prototype, 'run');
    try {
      return { value: fn(), names: run.mock.calls.map(([name]) => name) };
    } finally {
      run.mockRestore();
    }
  }

  /** fn's result with `kernel` split over the pool, and the same bits with every kernel in one part. */
  function expectSameSplitAndWhole<T>(fn: () => T, kernel: string): void {
    const split = pooled(fn);
    expect(split.names).toContain(kernel);
    Heap.minWorkPerPart = Infinity;
    const whole = pooled(fn);
    Heap.minWorkPerPart = 1;
    expect(whole.names).toEqual([]);
    expect(split.value).toEqual(whole.value);
  }

  // Images split over the threads: odd sizes, overlapping windows, 'same' and explicit padding, batch 1.
  const pools: { x: [number, number, number, number]; pool: [number, number]; strides: [number, number]; pad: 'valid' | 'same' | number }[] = [
    { x: [3, 13, 11, 12], pool: [3, 3], strides: [2, 2], pad: 'valid' },
    { x: [2, 10, 9, 7], pool: [3, 2], strides: [2, 3], pad: 'same' },
    { x: [3, 8, 9, 5], pool: [3, 3], strides: [2, 2], pad: 1 },
    { x: [1, 9, 7, 6], pool: [2, 2], strides: [2, 2], pad: 'valid' },
  ];
  for (const [i, c] of pools.entries()) {
    for (const kind of ['max', 'avg'] as const) {
      it(`${kind} pooling's gradient split over both threads matches the cpu backend: x ${c.x.join('x')}, pool ${c.pool}, strides ${c.strides}, pad ${JSON.stringify(c.pad)}`, async () => {
        const values = randomArray(c.x.reduce((a, b) => a * b), 300 + i);
        const pool = (x: tf.Tensor4D) => (kind === 'max' ? tf.maxPool(x, c.pool, c.strides, c.pad) : tf.avgPool(x, c.pool, c.strides, c.pad));
        const run = () =>
          tf.tidy(() => {
            const x = tf.tensor4d(values, c.x);
            const dy = tf.tensor(randomArray(pool(x).size, 320 + i), pool(x).shape);
            return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a as tf.Tensor4D), dy)))(x).dataSync();
          });
        const ours = pooled(run);
        // One image is not split.
        expect(ours.names.includes(kind === 'max' ? 'max_pool_grad' : 'avg_pool_grad')).toBe(c.x[0] > 1);
        expect(worstMismatch(ours.value, await onCpu(run), 1e-5, 1e-5)).toBeLessThanOrEqual(1);
      });
    }
  }

  it('global average pooling split over both threads by images matches the cpu backend', async () => {
    const shape: [number, number, number, number] = [5, 6, 7, 9];
    const values = randomArray(shape.reduce((a, b) => a * b), 330);
    const run = () => tf.tidy(() => tf.mean(tf.tensor4d(values, shape), [1, 2]).dataSync());
    const ours = pooled(run);
    expect(ours.names).toContain('spatial_mean');
    expect(worstMismatch(ours.value, await onCpu(run), 1e-6, 1e-5)).toBeLessThanOrEqual(1);
  });

  // Value ranges split over the threads in whole vectors; 735 values leave a scalar tail.
  const activations: [string, (x: tf.Tensor) => tf.Tensor][] = [
    ['leakyRelu 0.1', (x) => tf.leakyRelu(x, 0.1)],
    ['tanh', (x) => tf.tanh(x)],
    ['clippedRelu', (x) => tf.clipByValue(x, 0, 6)],
  ];
  for (const [name, f] of activations) {
    it(`${name} and its gradient split over both threads match the cpu backend`, async () => {
      const shape = [3, 7, 5, 7];
      const size = shape.reduce((a, b) => a * b);
      const x = randomArray(size, 340, -8, 8);
      const dy = randomArray(size, 341);
      const run = () => tf.tidy(() => {
        const [y, dx] = [f(tf.tensor(x, shape)), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(f(a), tf.tensor(dy, shape))))(tf.tensor(x, shape))];
        return [y.dataSync(), dx.dataSync()];
      });
      const ours = pooled(run);
      expect(ours.names).toContain('activation_grad');
      if (name !== 'clippedRelu') expect(ours.names).toContain('activation_forward'); // ClipByValue's forward is tfjs's
      const cpu = await onCpu(run);
      expect(worstMismatch(ours.value[0]!, cpu[0]!, 1e-6, 1e-5)).toBeLessThanOrEqual(1);
      expect(worstMismatch(ours.value[1]!, cpu[1]!, 1e-6, 1e-5)).toBeLessThanOrEqual(1);
    });
  }

  it('gives the same filter gradient, bit for bit, as the kernel in one part (each tap is summed in the same order)', () => {
    expectSameSplitAndWhole(() => convGradients([3, 14, 13, 8], [3, 3, 8, 16], [1, 1], 'same', 260).dw, 'conv2d_backprop_filter');
  });

  it('splits the forward convolution by output rows: the cpu backend\'s result, and the same bits as in one part', async () => {
    const c: ConvCase = { x: [3, 11, 10, 5], filter: [3, 3, 5, 10], strides: [2, 1], pad: 'same', dilation: [1, 2] };
    const run = () => tf.tidy(() => {
      const [x, w, b] = [tf.tensor4d(randomArray(3 * 11 * 10 * 5, 280), c.x), tf.tensor4d(randomArray(3 * 3 * 5 * 10, 281), c.filter), tf.tensor1d(randomArray(10, 282))];
      return conv2dWithBias(x, w, b, c.strides, c.pad, c.dilation).dataSync();
    });
    expectSameSplitAndWhole(run, 'conv2d_forward');
    const { ours, cpu } = await convGradientsBothWays(c, 280);
    expect(worstMismatch(ours[0]!, cpu[0]!, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
  });

  it('reports a kernel that traps on a pool thread as an error, and keeps working afterwards', () => {
    const heap = Heap.of(tf.backend());
    // copy_rows reading past the end of the memory traps (out of bounds) on one part, whichever thread takes it.
    expect(() => heap.runParts('copy_rows', [[0, 0, 0, 0, 0, 0], [2 ** 31 - 16, 4, 0, 4, 1, 4]])).toThrow(/failed on one of its parts/);
    expect(convGradients([3, 9, 7, 3], [3, 3, 3, 10], [1, 1], 'same', 270).dw.every(Number.isFinite)).toBe(true);
  });

  it('keeps a worker\'s memory flat over 10 jobs with every kernel split: tensors back to baseline, no growth of the wasm heap', () =>
    expectFlatMemoryOverTenJobs(everyWasmKernelNetworkJson));
});
