import * as tf from '@tensorflow/tfjs-core';
// The reference backend: the registry loads only the backend it chooses.
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../src/nn/backend.js';

/** Tests pin the wasm backend (TRAINYARD_BACKEND=wasm in vitest.config.ts) so every machine does the same. */
export async function useTestBackend(): Promise<void> {
  await initBackend('wasm');
}

/** Runs fn (to its end, when it is async) with the pure-JS cpu backend, the reference that other backends' results are compared with. */
export async function onCpu<T>(fn: () => T | Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return await fn();
  } finally {
    await tf.setBackend(previous);
  }
}

/** Largest |a - b| / (atol + rtol |b|): at most 1 means a and b agree within the tolerance. */
export function worstMismatch(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!)));
  return worst;
}

/** A deterministic pseudo-random array in [lo, hi). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((s >>> 8) / 16777216) * (hi - lo);
  });
}
