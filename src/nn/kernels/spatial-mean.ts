import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { replacedKernel } from './replaced.js';

/** Whether a mean is over the two spatial axes of an NHWC float32 tensor: global average pooling's. */
function isSpatialMean(x: tf.TensorInfo, axis: number | number[]): boolean {
  if (x.dtype !== 'float32' || x.shape.length !== 4) return false;
  const axes = [...tf.util.parseAxisParam(axis, x.shape)].sort();
  return axes.length === 2 && axes[0] === 1 && axes[1] === 2;
}

/**
 * Mean for the wasm backend over the spatial axes of an NHWC tensor (what globalAveragePooling2d
 * asks) in one pass (spatial_mean in tensor_ops.c), with the same sums in the same order as
 * tfjs-backend-wasm's Mean, which first transposes the channels innermost: 1.6-3 ms for a
 * [128,14,14,32] input in profiles of the zoo's elu-gap. Any other mean is tfjs's own. Images are
 * split over the kernel pool's threads.
 */
export const spatialMeanWasm: tf.KernelConfig = {
  kernelName: tf.Mean,
  backendName: 'wasm',
  kernelFunc: (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.MeanAttrs;
    if (!isSpatialMean(x, axis)) return replacedKernel(tf.Mean, 'wasm').kernelFunc(args);
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const heap = Heap.of(args.backend);
    const out = heap.output(keepDims ? [n, 1, 1, c] : [n, c]);
    const [x0, out0] = [heap.offset(x), heap.offset(out)];
    heap.runSplit('spatial_mean', n, n * h * w * c, (b, e) => [x0 + 4 * b * h * w * c, out0 + 4 * b * c, e - b, h * w, c]);
    return out;
  },
};
