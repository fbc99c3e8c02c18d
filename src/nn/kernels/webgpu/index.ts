import type * as tf from '@tensorflow/tfjs-core';
import { batchNormTrainingGradWebgpu, batchNormTrainingWebgpu } from './batch-norm.js';
import { eluWithAlphaGradWebgpu, eluWithAlphaWebgpu } from './elu.js';
import { sgdmUpdateWebgpu } from './sgdm-update.js';

/**
 * trainyard's kernels for the webgpu backend entry (src/nn/backends/webgpu.ts): the seed's ELU,
 * training-mode batch norm and the sgdm step fused in WGSL; the other fused ops run as plain tfjs
 * ops there (src/nn/ops falls back).
 */
export const webgpuKernels: readonly tf.KernelConfig[] = [
  eluWithAlphaWebgpu,
  eluWithAlphaGradWebgpu,
  batchNormTrainingWebgpu,
  batchNormTrainingGradWebgpu,
  sgdmUpdateWebgpu,
];
