import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../../src/nn/backend.js';
import { Heap } from '../../../src/nn/wasm/heap.js';
import { KernelPool, splitRange } from '../../../src/nn/wasm/kernel-pool.js';
import { onCpu, randomArray, worstMismatch } from '../../helpers/backend.js';
import { convGradientsBothWays, type ConvCase } from '../../helpers/conv-gradients.js';
import { compileWasmWithOptimizingTierOnly } from '../../helpers/wasm-tier.js';

// Each test file runs in its own process (vitest's forks pool), so this one can start the threaded build.
beforeAll(async () => {
  compileWasmWithOptimizingTierOnly();
  await initBackend('wasm', { threads: 2 });
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
    expect(splitRange(27, 2, 2)).toEqual([[0, 14], [14, 27]]);
    expect(splitRange(9, 2, 2)).toEqual([[0, 4], [4, 9]]);
    expect(splitRange(1, 2, 2)).toEqual([[0, 1]]);
    expect(splitRange(10, 3)).toEqual([[0, 3], [3, 6], [6, 10]]);
  });

  // Odd tap counts (an odd last range), odd sizes, strides, 'same', explicit and uneven padding,
  // co not a multiple of 4, batch 1; each with at least 2 million products, so that it is split.
  const cases: { x: [number, number, number, number]; filter: [number, number, number, number]; strides: [number, number]; pad: Pad }[] = [
    { x: [24, 19, 17, 3], filter: [3, 3, 3, 10], strides: [1, 1], pad: 'same' },
    { x: [1, 71, 69, 1], filter: [5, 5, 1, 20], strides: [1, 1], pad: 'valid' },
    { x: [16, 23, 21, 5], filter: [5, 3, 5, 8], strides: [2, 1], pad: 'same' },
    { x: [20, 26, 28, 4], filter: [4, 4, 4, 13], strides: [2, 3], pad: [[0, 0], [2, 1], [0, 3], [0, 0]] },
    { x: [12, 12, 12, 16], filter: [5, 5, 16, 32], strides: [1, 1], pad: 'valid' },
  ];
  for (const [i, c] of cases.entries()) {
    it(`filter gradient split over both threads matches the cpu backend: x ${c.x.join('x')}, filter ${c.filter.join('x')}, strides ${c.strides.join(',')}, pad ${JSON.stringify(c.pad)}`, async () => {
      const run = vi.spyOn(KernelPool.prototype, 'run');
      const ours = convGradients(c.x, c.filter, c.strides, c.pad, 200 + i);
      expect(run.mock.calls.some(([name]) => name === 'conv2d_backprop_filter')).toBe(true);
      run.mockRestore();
      const cpu = await onCpu(() => convGradients(c.x, c.filter, c.strides, c.pad, 200 + i));
      expect(worstMismatch(ours.dw, cpu.dw, 1e-3, 1e-4)).toBeLessThanOrEqual(1);
      expect(worstMismatch(ours.dx, cpu.dx, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    });
  }

  const dilated: ConvCase[] = [
    { x: [8, 21, 19, 6], filter: [3, 3, 6, 16], strides: [1, 1], pad: 'same', dilation: [2, 2] },
    { x: [1, 72, 67, 3], filter: [5, 3, 3, 12], strides: [1, 1], pad: 'valid', dilation: [2, 3] },
  ];
  for (const [i, c] of dilated.entries()) {
    it(`a dilated convolution's gradients split over both threads match the cpu backend: x ${c.x.join('x')}, filter ${c.filter.join('x')}, dilation ${c.dilation}, pad ${c.pad}`, async () => {
      const { ours, cpu } = await convGradientsBothWays(c, 230 + i, tf.Conv2DBackpropFilter);
      for (const [k, name] of ['y', 'dx', 'dw', 'db'].entries()) {
        expect(worstMismatch(ours[k]!, cpu[k]!, 1e-3, 1e-4), name).toBeLessThanOrEqual(1);
      }
    });
  }

  it('gives the same filter gradient, bit for bit, as the kernel on one thread (each tap is summed in the same order)', () => {
    const heap = Heap.of(tf.backend());
    const split = convGradients([16, 14, 14, 8], [3, 3, 8, 16], [1, 1], 'same', 260).dw;
    const threads = vi.spyOn(heap, 'threads', 'get').mockReturnValue(1);
    const single = convGradients([16, 14, 14, 8], [3, 3, 8, 16], [1, 1], 'same', 260).dw;
    threads.mockRestore();
    expect(split).toEqual(single);
  });

  it('reports a kernel that traps on a pool thread as an error, and keeps working afterwards', () => {
    const heap = Heap.of(tf.backend());
    // copy_rows reading past the end of the memory traps (out of bounds) on the helper's part.
    expect(() => heap.runParts('copy_rows', [[0, 0, 0, 0, 0, 0], [2 ** 31 - 16, 4, 0, 4, 1, 4]])).toThrow(/pool thread/);
    expect(convGradients([24, 19, 17, 3], [3, 3, 3, 10], [1, 1], 'same', 270).dw.every(Number.isFinite)).toBe(true);
  });
});
