import * as tf from '@tensorflow/tfjs-core';
import { activationGradWasm, registerFusedActivationGradients } from './activation-grads.js';
import { batchNormTrainingGradWasm, batchNormTrainingWasm } from './batch-norm.js';
import { channelSumsWasm } from './channel-sums.js';
import { conv2dBackpropFilterWasm } from './conv2d-backprop-filter.js';
import { conv2dWithBiasWasm } from './conv2d-with-bias.js';
import { eluWithAlphaGradWasm, eluWithAlphaWasm } from './elu.js';
import { expressionWasm } from './expression.js';
import { identityWasm } from './identity.js';
import { matMulAtBWasm } from './matmul-at-b.js';
import { avgPoolGradWasm, maxPoolGradWasm } from './pool-grads.js';
import { sgdmUpdateWasm } from './sgdm-update.js';
import { flipFilterWasm, spreadPadWasm } from './transposed-conv-layout.js';

/**
 * trainyard's kernels for the wasm backend. Conv2DBackpropFilter fills a gap in tfjs-backend-wasm;
 * MaxPoolGrad and AvgPoolGrad replace its scalar ones and Identity its copying one; the others are fused kernels that src/nn/ops uses when
 * they are registered for the backend in use, falling back to plain tfjs ops elsewhere.
 */
export const fusedWasmKernels: tf.KernelConfig[] = [
  eluWithAlphaWasm,
  eluWithAlphaGradWasm,
  batchNormTrainingWasm,
  batchNormTrainingGradWasm,
  channelSumsWasm,
  matMulAtBWasm,
  conv2dWithBiasWasm,
  sgdmUpdateWasm,
  spreadPadWasm,
  flipFilterWasm,
  expressionWasm,
  activationGradWasm,
];

export function registerWasmKernels(): void {
  for (const config of [conv2dBackpropFilterWasm, maxPoolGradWasm, avgPoolGradWasm, identityWasm, ...fusedWasmKernels]) {
    const current = tf.getKernel(config.kernelName, config.backendName);
    if (current === config) continue;
    if (current) tf.unregisterKernel(config.kernelName, config.backendName);
    tf.registerKernel(config);
  }
  registerFusedActivationGradients();
}

/** Whether `kernelName` runs on the backend in use (the ops' choice between fused and plain tfjs). */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
