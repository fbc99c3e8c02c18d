import * as tf from '@tensorflow/tfjs-core';
import { activationGradWasm, registerFusedActivationGradients } from './activation-grads.js';
import { leakyReluWasm, tanhWasm } from './activations.js';
import { batchNormTrainingGradWasm, batchNormTrainingWasm } from './batch-norm.js';
import { channelSumsWasm } from './channel-sums.js';
import { conv2dBackpropFilterWasm } from './conv2d-backprop-filter.js';
import { conv2dWithBiasWasm } from './conv2d-with-bias.js';
import { convInputGradientWasm } from './conv-input-gradient.js';
import { eluWithAlphaGradWasm, eluWithAlphaWasm } from './elu.js';
import { expressionWasm } from './expression.js';
import { identityWasm } from './identity.js';
import { matMulAtBWasm } from './matmul-at-b.js';
import { avgPoolGradWasm, maxPoolGradWasm } from './pool-grads.js';
import { keepReplaced } from './replaced.js';
export { hasKernel } from './has-kernel.js';
import { sgdmUpdateWasm } from './sgdm-update.js';
import { registerSpatialMeanGradient, spatialMeanGradWasm, spatialMeanWasm } from './spatial-mean.js';
import { flipFilterWasm, interleavePhasesWasm, spreadPadWasm } from './transposed-conv-layout.js';

/**
 * trainyard's kernels for the wasm backend. Conv2DBackpropFilter fills a gap in tfjs-backend-wasm;
 * MaxPoolGrad, AvgPoolGrad, LeakyRelu and Tanh replace its scalar ones, Identity its copying one and Mean its
 * transposing one (for global average pooling; other means go to tfjs's own); the others are fused kernels that src/nn/ops uses when
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
  interleavePhasesWasm,
  convInputGradientWasm,
  expressionWasm,
  activationGradWasm,
  spatialMeanGradWasm,
];

/** Every kernel the wasm backend entry registers (src/nn/backends/wasm.ts). */
export const wasmKernels: readonly tf.KernelConfig[] = [conv2dBackpropFilterWasm, maxPoolGradWasm, avgPoolGradWasm, leakyReluWasm, tanhWasm, identityWasm, spatialMeanWasm, ...fusedWasmKernels];

/**
 * The registration hook the backend registry calls with the chosen entry's kernels. Replaces a
 * kernel tfjs already has under that name (wasm's copying Identity, pooling gradients, LeakyRelu, Tanh, Mean),
 * keeping tfjs's own (replacedKernel), and is idempotent. The activation gradients it overrides fall back to tfjs's own where their kernel is
 * missing.
 */
export function registerKernels(configs: readonly tf.KernelConfig[]): void {
  for (const config of configs) {
    const current = tf.getKernel(config.kernelName, config.backendName);
    if (current === config) continue;
    if (current) {
      keepReplaced(current);
      tf.unregisterKernel(config.kernelName, config.backendName);
    }
    tf.registerKernel(config);
  }
  registerFusedActivationGradients();
  registerSpatialMeanGradient();
}
