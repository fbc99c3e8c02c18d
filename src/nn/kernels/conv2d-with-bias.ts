import * as tf from '@tensorflow/tfjs-core';
import { Conv2DWithBias, type Conv2DWithBiasAttrs } from './names.js';

/**
 * conv2d(x, filter) + bias in one pass: tfjs-backend-wasm's FusedConv2D (XNNPACK adds the bias as
 * it writes the output). A kernel of its own name so that it can have a gradient that computes
 * only the inputs asked for (see src/nn/ops/conv.ts); tf.fused.conv2d's computes all three.
 */
export const conv2dWithBiasWasm: tf.KernelConfig = {
  kernelName: Conv2DWithBias,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { strides, pad, dilations } = attrs as unknown as Conv2DWithBiasAttrs;
    const fused = tf.getKernel(tf.FusedConv2D, 'wasm');
    if (!fused) throw new Error('tfjs-backend-wasm has no FusedConv2D kernel');
    const fusedAttrs: tf.FusedConv2DAttrs = { strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode: 'floor', activation: 'linear' };
    return fused.kernelFunc({ inputs, attrs: fusedAttrs as unknown as tf.NamedAttrMap, backend });
  },
};
