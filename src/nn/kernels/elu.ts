import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { EluWithAlpha, EluWithAlphaGrad } from './names.js';
import { channelSumsScratchBytes, rowsAndChannels } from './rows.js';

/** z = the seed's ELU of x with alpha per channel ([C]) or shared ([1]); see src/nn/ops/elu.ts. */
export const eluWithAlphaWasm: tf.KernelConfig = {
  kernelName: EluWithAlpha,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { x, alpha } = inputs as { x: tf.TensorInfo; alpha: tf.TensorInfo };
    const heap = Heap.of(backend);
    const { rows, channels } = rowsAndChannels(x);
    const z = heap.output(x.shape);
    heap.kernels.elu_forward(heap.offset(x), heap.offset(alpha), heap.offset(z), rows, channels, perChannel(alpha));
    return z;
  },
};

/** [dx, dalpha] from x, the forward's z, alpha and dz. */
export const eluWithAlphaGradWasm: tf.KernelConfig = {
  kernelName: EluWithAlphaGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { x, z, alpha, dz } = inputs as { x: tf.TensorInfo; z: tf.TensorInfo; alpha: tf.TensorInfo; dz: tf.TensorInfo };
    const heap = Heap.of(backend);
    const { rows, channels } = rowsAndChannels(x);
    const dx = heap.output(x.shape);
    const dalpha = heap.output(alpha.shape);
    heap.withScratch(channelSumsScratchBytes(channels), (scratch) =>
      heap.kernels.elu_backward(heap.offset(x), heap.offset(z), heap.offset(alpha), heap.offset(dz), heap.offset(dx), heap.offset(dalpha), rows, channels, perChannel(alpha), scratch),
    );
    return [dx, dalpha];
  },
};

function perChannel(alpha: tf.TensorInfo): number {
  return alpha.shape.reduce((a, b) => a * b, 1) > 1 ? 1 : 0;
}
