import * as tf from '@tensorflow/tfjs-core';
import { Heap, type KernelExports } from '../wasm/heap.js';

/**
 * MaxPoolGrad and AvgPoolGrad for the wasm backend in one pass each over the output positions,
 * channels in SIMD vectors (pool_grad.c). The stock kernels are per-element scalar loops, and
 * MaxPoolGrad computes an argmax tensor first. Images are split over the kernel pool's threads.
 */
/** The C kernels' size arguments: n, h, w, c, oh, ow, kh, kw, sh, sw, top, left. */
function poolInfo(x: tf.TensorInfo, attrs: tf.NamedAttrMap | undefined) {
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  return [batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left] as const;
}

/**
 * One pooling gradient's kernel: max pooling's reads the input (to find each window's largest),
 * average pooling's only dy; both write dx image by image, so images split over the pool.
 */
function poolGradWasm(kernelName: string, kernel: 'max_pool_grad' | 'avg_pool_grad'): tf.KernelConfig {
  const readsInput = kernel === 'max_pool_grad';
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const heap = Heap.of(backend);
      const dx = heap.output(input.shape);
      const [n, h, w, c, oh, ow, ...window] = poolInfo(input, attrs);
      const [x0, dy0, dx0] = [heap.offset(input), heap.offset(dy), heap.offset(dx)];
      const [image, pooled] = [4 * h * w * c, 4 * oh * ow * c];
      const work = n * ((readsInput ? 2 : 1) * h * w + oh * ow) * c;
      heap.runSplit(kernel, n, work, (b, e) => {
        const sizes: Parameters<KernelExports['avg_pool_grad']> = [dy0 + b * pooled, dx0 + b * image, e - b, h, w, c, oh, ow, ...window];
        return readsInput ? [x0 + b * image, ...sizes] : sizes;
      });
      return dx;
    },
  };
}

export const maxPoolGradWasm = poolGradWasm(tf.MaxPoolGrad, 'max_pool_grad');
export const avgPoolGradWasm = poolGradWasm(tf.AvgPoolGrad, 'avg_pool_grad');
