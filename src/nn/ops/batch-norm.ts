import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from '../kernels/index.js';
import { BatchNormTraining, BatchNormTrainingGrad, type BatchNormTrainingAttrs } from '../kernels/names.js';

export interface BatchNormResult {
  y: tf.Tensor;
  /** The batch's per-channel mean and (biased) variance, for the layer's moving averages. */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/**
 * Training-mode batch normalisation over every axis but the last, as tfjs-layers' BatchNormalization
 * does it (tf.moments, then tf.batchNorm), differentiable in x, gamma and beta through the batch
 * statistics. On wasm one fused kernel does each direction (batch_norm.c); elsewhere tfjs ops do.
 * The returned mean and variance are not differentiable on wasm: they only feed moving averages.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number): BatchNormResult {
  if (hasKernel(BatchNormTraining)) {
    const attrs: BatchNormTrainingAttrs = { epsilon };
    const [y, mean, variance] = tf.engine().runKernel(BatchNormTraining, { x, gamma, beta }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return { y: y!, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  const { mean, variance } = tf.moments(x, [...Array(x.rank - 1).keys()]);
  return { y: tf.batchNorm(x, mean, variance, beta, gamma, epsilon), mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

tf.registerGradient({
  kernelName: BatchNormTraining,
  inputsToSave: ['x', 'gamma'],
  outputsToSave: [false, true, true],
  gradFunc: (dys, saved, attrs) => {
    const [x, gamma, mean, variance] = saved as tf.Tensor[];
    const dy = (Array.isArray(dys) ? dys[0] : dys)!;
    const [dx, dgamma, dbeta] = tf.engine().runKernel(BatchNormTrainingGrad, { x: x!, dy, gamma: gamma!, mean: mean!, variance: variance! }, attrs) as tf.Tensor[];
    return { x: () => dx!, gamma: () => dgamma!, beta: () => dbeta! };
  },
});
