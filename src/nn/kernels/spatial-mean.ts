import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { hasKernel } from './has-kernel.js';
import { SpatialMeanGrad } from './names.js';
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

/** dx [n, h, w, c] = dy / (h * w) at every pixel: spatialMeanWasm's gradient (spatial_mean_grad), in one pass. */
export const spatialMeanGradWasm: tf.KernelConfig = {
  kernelName: SpatialMeanGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const heap = Heap.of(backend);
    const dx = heap.output(x.shape);
    const [dy0, dx0] = [heap.offset(dy), heap.offset(dx)];
    heap.runSplit('spatial_mean_grad', n, n * h * w * c, (b, e) => [dy0 + 4 * b * c, dx0 + 4 * b * h * w * c, e - b, h * w, c]);
    return dx;
  },
};

let originalMeanGradient: tf.GradConfig | null = null;

/**
 * Replaces Mean's gradient with one that spreads a spatial mean's dy in one kernel where it is
 * registered: tfjs's multiplies dy by a tensor of ones and then divides it (two passes and a
 * tensor of ones the size of x: 1.3 ms on [128,14,14,32]). Every other mean, and every other
 * backend, keeps tfjs's own. Idempotent.
 */
export function registerSpatialMeanGradient(): void {
  if (originalMeanGradient) return;
  const original = tf.getGradient(tf.Mean);
  if (!original) throw new Error('tfjs has no gradient for Mean');
  originalMeanGradient = original;
  tf.registerGradient({
    ...original,
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const { axis } = attrs as unknown as tf.MeanAttrs;
      if (!hasKernel(SpatialMeanGrad) || !isSpatialMean(x, axis)) return original.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel(SpatialMeanGrad, { dy: dy as tf.Tensor, x }) as tf.Tensor };
    },
  });
}
