import type * as tf from '@tensorflow/tfjs-core';
import { eluWithAlphaGradWebgpu, eluWithAlphaWebgpu } from './elu.js';

/**
 * trainyard's kernels for the webgpu backend entry (src/nn/backends/webgpu.ts): the seed's ELU
 * fused in WGSL; the other fused ops run as plain tfjs ops there (src/nn/ops falls back).
 */
export const webgpuKernels: readonly tf.KernelConfig[] = [eluWithAlphaWebgpu, eluWithAlphaGradWebgpu];
