import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { hasKernel } from './has-kernel.js';
import { ActivationGrad, type ActivationGradAttrs } from './names.js';

/**
 * One-pass input gradients of ClipByValue (clippedRelu), LeakyRelu, Relu and Tanh on wasm
 * (activation_grad.c). tfjs's own gradients stay in place for every other backend: the overriding
 * gradients below call them there.
 */
export const activationGradWasm: tf.KernelConfig = {
  kernelName: ActivationGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { kind, a, b } = attrs as unknown as ActivationGradAttrs;
    const heap = Heap.of(backend);
    const dx = heap.output(dy.shape);
    const [x0, dy0, dx0, size] = [heap.offset(x), heap.offset(dy), heap.offset(dx), tf.util.sizeFromShape(dy.shape)];
    // Ranges of whole vectors (16 bytes), split over the kernel pool's threads.
    heap.runSplit('activation_grad', size, 3 * size, (begin, end) => [kind, x0 + 4 * begin, dy0 + 4 * begin, dx0 + 4 * begin, end - begin, a, b], 4);
    return dx;
  },
};

/** Each kernel's gradient kind and its attributes a, b. */
const fused: [string, ActivationGradAttrs['kind'], (attrs: tf.NamedAttrMap) => [number, number]][] = [
  [tf.ClipByValue, 0, (attrs) => [attrs['clipValueMin'] as number, attrs['clipValueMax'] as number]],
  [tf.LeakyRelu, 1, (attrs) => [attrs['alpha'] as number, 0]],
  [tf.Relu, 2, () => [0, 0]],
  [tf.Tanh, 3, () => [0, 0]],
];
const originals = new Map<string, tf.GradConfig>();

/** Replaces the four gradients with ones that use the fused kernel where it is registered. Idempotent. */
export function registerFusedActivationGradients(): void {
  for (const [kernelName, kind, bounds] of fused) {
    if (originals.has(kernelName)) continue;
    const original = tf.getGradient(kernelName);
    if (!original) throw new Error(`tfjs has no gradient for ${kernelName}`);
    originals.set(kernelName, original);
    tf.registerGradient({
      ...original,
      gradFunc: (dy, saved, attrs) => {
        if (!hasKernel(ActivationGrad)) return original.gradFunc(dy, saved, attrs);
        const [a, b] = bounds(attrs);
        const gradAttrs: ActivationGradAttrs = { kind, a, b };
        return { x: () => tf.engine().runKernel(ActivationGrad, { x: saved[0]!, dy: dy as tf.Tensor }, gradAttrs as unknown as tf.NamedAttrMap) as tf.Tensor };
      },
    });
  }
}
