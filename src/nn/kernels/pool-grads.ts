import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';

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

export const maxPoolGradWasm: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const heap = Heap.of(backend);
    const dx = heap.output(input.shape);
    const [n, h, w, c, oh, ow, ...window] = poolInfo(input, attrs);
    const [x0, dy0, dx0] = [heap.offset(input), heap.offset(dy), heap.offset(dx)];
    const [image, pooled] = [4 * h * w * c, 4 * oh * ow * c];
    heap.runSplit('max_pool_grad', n, n * (2 * h * w + oh * ow) * c, (b, e) => [x0 + b * image, dy0 + b * pooled, dx0 + b * image, e - b, h, w, c, oh, ow, ...window]);
    return dx;
  },
};

export const avgPoolGradWasm: tf.KernelConfig = {
  kernelName: tf.AvgPoolGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const heap = Heap.of(backend);
    const dx = heap.output(input.shape);
    const [n, h, w, c, oh, ow, ...window] = poolInfo(input, attrs);
    const [dy0, dx0] = [heap.offset(dy), heap.offset(dx)];
    const [image, pooled] = [4 * h * w * c, 4 * oh * ow * c];
    heap.runSplit('avg_pool_grad', n, n * (h * w + oh * ow) * c, (b, e) => [dy0 + b * pooled, dx0 + b * image, e - b, h, w, c, oh, ow, ...window]);
    return dx;
  },
};
