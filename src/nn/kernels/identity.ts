import * as tf from '@tensorflow/tfjs-core';

/**
 * Identity for wasm that shares the input's data (reference counted, as the cpu backend's does)
 * instead of copying it. tfjs clones every tensor it saves for a gradient through Identity, and
 * tfjs-backend-wasm's copies each one: four copies of the seed's largest activation per iteration.
 * Sharing is safe because tensor data is never written after its kernel returns.
 */
export const identityWasm: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    (backend as tf.KernelBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  },
};
