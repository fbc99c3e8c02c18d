import * as tf from '@tensorflow/tfjs-core';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendInfo } from '../../../src/nn/backend.js';
import { conv2dWithBias, dilateFilter } from '../../../src/nn/ops/conv.js';
import { backendMemory, type WasmBackendInternals } from '../../../src/nn/wasm/heap.js';
import { onCpu, randomArray, worstMismatch } from '../../helpers/backend.js';

// Each test file runs in its own process (vitest's forks pool), so this one can start the threaded build.
let info: BackendInfo;
beforeAll(async () => {
  info = await initBackend('wasm', { threads: 2 });
});

type Shape4 = [number, number, number, number];
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

describe('the wasm backend on 2 threads (tfjs\'s threaded build in Node)', () => {
  it('runs XNNPACK on a shared memory with a second thread', () => {
    expect(info.reason).toContain('2 threads');
    expect(backendMemory(tf.backend() as unknown as WasmBackendInternals).buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  // XNNPACK's threaded convolutions and trainyard's kernels (instantiated on the shared memory) together.
  const cases: { x: Shape4; filter: Shape4; strides: [number, number]; pad: 'valid' | 'same'; dilation: [number, number] }[] = [
    { x: [3, 13, 11, 3], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same', dilation: [1, 1] },
    { x: [2, 15, 13, 5], filter: [5, 5, 5, 7], strides: [2, 2], pad: 'same', dilation: [1, 1] },
    { x: [1, 28, 28, 1], filter: [5, 5, 1, 20], strides: [1, 1], pad: 'valid', dilation: [1, 1] },
    { x: [3, 14, 9, 2], filter: [5, 3, 2, 4], strides: [1, 1], pad: 'same', dilation: [2, 1] },
    { x: [4, 12, 12, 16], filter: [3, 3, 16, 32], strides: [1, 1], pad: 'same', dilation: [1, 1] }, // split across both threads
  ];
  for (const [i, c] of cases.entries()) {
    it(`convolution and its gradients match the cpu backend: x ${c.x.join('x')}, filter ${c.filter.join('x')}, strides ${c.strides}, dilation ${c.dilation}, pad ${c.pad}`, async () => {
      const x = randomArray(size(c.x), 130 + i);
      const w = randomArray(size(c.filter), 140 + i);
      const b = randomArray(c.filter[3], 150 + i);
      const run = (conv: (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D) =>
        tf.tidy(() => {
          const [xt, wt, bt] = [tf.tensor4d(x, c.x), tf.tensor4d(w, c.filter), tf.tensor1d(b)];
          const y = conv(xt, wt, bt);
          const dy = tf.tensor(randomArray(y.size, 160 + i), y.shape);
          const grads = tf.grads((a: tf.Tensor, k: tf.Tensor, bias: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, k as tf.Tensor4D, bias as tf.Tensor1D), dy)))([xt, wt, bt]);
          return [y, ...grads].map((t) => t.dataSync());
        });
      const wasm = run((a, k, bias) => conv2dWithBias(a, k, bias, c.strides, c.pad, c.dilation));
      const cpu = await onCpu(() => run((a, k, bias) => tf.add(tf.conv2d(a, dilateFilter(k, c.dilation), c.strides, c.pad), bias)));
      for (const [k, name] of ['y', 'dx', 'dw', 'db'].entries()) {
        expect(worstMismatch(wasm[k]!, cpu[k]!, 1e-3, 1e-4), name).toBeLessThanOrEqual(1);
      }
    });
  }

  it('lets a process that trained on it end by itself (its worker threads are unref\'d)', async () => {
    const child = path.resolve(import.meta.dirname, '../../helpers/wasm-threads-child.ts');
    const tsx = path.resolve(import.meta.dirname, '../../../node_modules/.bin/tsx');
    const { stdout } = await promisify(execFile)(tsx, [child], { timeout: 60_000 });
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({ threads: 2, finite: true });
  });
});
