import type { BackendEntry } from './entry.js';
import { useTfjsBackend } from './entry.js';
import { MAX_WASM_THREADS, withWasmThreads } from './wasm-threads.js';

/**
 * tfjs-backend-wasm (XNNPACK, SIMD) with trainyard's C kernels: the backend of every machine
 * without native TensorFlow. Its tensors live in one WebAssembly heap, which emscripten grows up
 * to getHeapMax() of tfjs-backend-wasm 4.22's build (4 GiB less one 64 KiB page). With more than
 * one thread it runs tfjs's threaded build: XNNPACK's convolutions and matrix products split
 * across worker threads on a shared memory, and trainyard's heaviest kernels split their work over
 * a pool of as many threads (src/nn/wasm/kernel-pool.ts).
 */
export const wasmBackend = {
  name: 'wasm',
  summary: 'tfjs-backend-wasm with trainyard\'s SIMD kernels',
  auto: { priority: 10 },
  memoryCeilingBytes: 4_294_901_760,
  async start(options) {
    await import('@tensorflow/tfjs-backend-wasm');
    const threads = Math.min(options?.threads ?? 1, MAX_WASM_THREADS);
    if (threads > 1) {
      await withWasmThreads(threads, () => useTfjsBackend('wasm'));
      const tf = await import('@tensorflow/tfjs-core');
      const { Heap } = await import('../wasm/heap.js');
      Heap.useThreads(tf.backend(), threads);
    } else {
      await useTfjsBackend('wasm');
    }
    const outcome = threads > 1 ? `wasm (XNNPACK, SIMD, ${threads} threads)` : 'wasm (XNNPACK, SIMD)';
    return { package: '@tensorflow/tfjs-backend-wasm', device: 'cpu', outcome };
  },
  async kernels() {
    return (await import('../kernels/index.js')).wasmKernels;
  },
} as const satisfies BackendEntry<'wasm'>;
