import * as tf from '@tensorflow/tfjs-core';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, type BackendInfo } from '../../../src/nn/backend.js';
import { backendMemory, type WasmBackendInternals } from '../../../src/nn/wasm/heap.js';
import { worstMismatch } from '../../helpers/backend.js';
import { convGradientsBothWays, type ConvCase } from '../../helpers/conv-gradients.js';

// Each test file runs in its own process (vitest's forks pool), so this one can start the threaded build.
let info: BackendInfo;
beforeAll(async () => {
  info = await initBackend('wasm', { threads: 2 });
});

describe('the wasm backend on 2 threads (tfjs\'s threaded build in Node)', () => {
  it('runs XNNPACK on a shared memory with a second thread', () => {
    expect(info.reason).toContain('2 threads');
    expect(backendMemory(tf.backend() as unknown as WasmBackendInternals).buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  // XNNPACK's threaded convolutions and trainyard's kernels (instantiated on the shared memory) together.
  const cases: ConvCase[] = [
    { x: [3, 13, 11, 3], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same', dilation: [1, 1] },
    { x: [2, 15, 13, 5], filter: [5, 5, 5, 7], strides: [2, 2], pad: 'same', dilation: [1, 1] },
    { x: [1, 28, 28, 1], filter: [5, 5, 1, 20], strides: [1, 1], pad: 'valid', dilation: [1, 1] },
    { x: [3, 14, 9, 2], filter: [5, 3, 2, 4], strides: [1, 1], pad: 'same', dilation: [2, 1] },
    { x: [4, 12, 12, 16], filter: [3, 3, 16, 32], strides: [1, 1], pad: 'same', dilation: [1, 1] }, // split across both threads
  ];
  for (const [i, c] of cases.entries()) {
    it(`convolution and its gradients match the cpu backend: x ${c.x.join('x')}, filter ${c.filter.join('x')}, strides ${c.strides}, dilation ${c.dilation}, pad ${c.pad}`, async () => {
      const { ours, cpu } = await convGradientsBothWays(c, 130 + i);
      for (const [k, name] of ['y', 'dx', 'dw', 'db'].entries()) {
        expect(worstMismatch(ours[k]!, cpu[k]!, 1e-3, 1e-4), name).toBeLessThanOrEqual(1);
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
