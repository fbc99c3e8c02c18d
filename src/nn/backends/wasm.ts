import type { BackendEntry } from './entry.js';
import { useTfjsBackend } from './entry.js';

/**
 * tfjs-backend-wasm (XNNPACK, SIMD) with trainyard's C kernels: the backend of every machine
 * without native TensorFlow. Its tensors live in one WebAssembly heap, which emscripten grows up
 * to getHeapMax() of tfjs-backend-wasm 4.22's build (4 GiB less one 64 KiB page).
 */
export const wasmBackend = {
  name: 'wasm',
  summary: 'tfjs-backend-wasm with trainyard\'s SIMD kernels',
  auto: { priority: 10 },
  memoryCeilingBytes: 4_294_901_760,
  async start() {
    await import('@tensorflow/tfjs-backend-wasm');
    await useTfjsBackend('wasm');
    return { package: '@tensorflow/tfjs-backend-wasm', device: 'cpu', outcome: 'wasm (XNNPACK, SIMD)' };
  },
  async kernels() {
    return (await import('../kernels/index.js')).wasmKernels;
  },
} as const satisfies BackendEntry<'wasm'>;
