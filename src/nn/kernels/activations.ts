import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';

/**
 * LeakyRelu and Tanh for the wasm backend in one SIMD pass each (activation.c), replacing
 * tfjs-backend-wasm's scalar loops (its Tanh calls libm per value: 45 ms on a [128, 24, 24, 16]
 * activation, Relu's 0.3).
 */
const LEAKY = 0;
const TANH = 1;

function activationKernel(kernelName: string, kind: number, alpha: (attrs: tf.NamedAttrMap | undefined) => number): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      if (x.dtype !== 'float32') throw new Error(`${kernelName} on wasm takes float32, not ${x.dtype}`);
      const heap = Heap.of(backend);
      const y = heap.output(x.shape);
      const [x0, y0, size, a] = [heap.offset(x), heap.offset(y), tf.util.sizeFromShape(x.shape), alpha(attrs)];
      // Ranges of whole vectors (16 bytes), split over the kernel pool's threads.
      heap.runSplit('activation_forward', size, 2 * size, (b, e) => [kind, x0 + 4 * b, y0 + 4 * b, e - b, a], 4);
      return y;
    },
  };
}

export const leakyReluWasm = activationKernel(tf.LeakyRelu, LEAKY, (attrs) => (attrs as unknown as tf.LeakyReluAttrs).alpha);
export const tanhWasm = activationKernel(tf.Tanh, TANH, () => 0);
