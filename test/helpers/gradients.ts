import * as tf from '@tensorflow/tfjs-core';
import { fusedWasmKernels } from '../../src/nn/kernels/index.js';
import { randomArray } from './backend.js';

export interface ValueAndGradients {
  value: Float32Array;
  /** dL/dinput for each input, L = sum(f(inputs) * dy) with a fixed random dy. */
  grads: Float32Array[];
}

/**
 * f's value and its gradients on the backend in use, for inputs with the given shapes filled with
 * fixed pseudo-random values (`values` overrides them per input).
 */
export function valueAndGradients(
  f: (...inputs: tf.Tensor[]) => tf.Tensor,
  shapes: number[][],
  seed: number,
  values: (Float32Array | undefined)[] = [],
): ValueAndGradients {
  return tf.tidy(() => {
    const inputs = shapes.map((shape, i) => tf.tensor(values[i] ?? randomArray(sizeOf(shape), seed + i), shape));
    const y = f(...inputs);
    const dy = tf.tensor(randomArray(y.size, seed + 100), y.shape);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), dy)))(inputs);
    return { value: y.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

export function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Runs fn with trainyard's fused wasm kernels unregistered, so that the ops take their plain tfjs
 * path on wasm too (the path every other backend takes).
 */
export function withoutFusedKernels<T>(fn: () => Promise<T>): Promise<T> {
  for (const k of fusedWasmKernels) tf.unregisterKernel(k.kernelName, k.backendName);
  return fn().finally(() => {
    for (const k of fusedWasmKernels) tf.registerKernel(k);
  });
}
