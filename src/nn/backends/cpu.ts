import type { BackendEntry } from './entry.js';
import { useTfjsBackend } from './entry.js';

/**
 * The pure-JavaScript reference backend: hundreds of times slower than wasm, so auto never picks
 * it and nothing falls back to it; it runs only when TRAINYARD_BACKEND names it.
 */
export const cpuBackend = {
  name: 'cpu',
  summary: 'pure JavaScript, slow; only when named',
  auto: null,
  memoryCeilingBytes: null,
  async start() {
    await import('@tensorflow/tfjs-backend-cpu');
    await useTfjsBackend('cpu');
    return { package: '@tensorflow/tfjs-backend-cpu', device: 'cpu', outcome: 'pure JavaScript, slow' };
  },
  async kernels() {
    return [];
  },
} as const satisfies BackendEntry<'cpu'>;
