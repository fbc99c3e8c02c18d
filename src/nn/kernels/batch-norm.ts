import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { BatchNormTraining, BatchNormTrainingGrad, type BatchNormTrainingAttrs } from './names.js';
import { channelSumsScratchBytes, rowsAndChannels } from './rows.js';

/** Two sets of per-channel sums, and one vector of per-channel coefficients per use (see batch_norm.c). */
function scratchBytes(channels: number): { sums: number; coefficients: number } {
  return { sums: 2 * channelSumsScratchBytes(channels), coefficients: 3 * 4 * Math.ceil(channels / 4) * 4 };
}

/** [y, mean, variance]: training-mode batch normalisation over every axis but the last. */
export const batchNormTrainingWasm: tf.KernelConfig = {
  kernelName: BatchNormTraining,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
    const { epsilon } = attrs as unknown as BatchNormTrainingAttrs;
    const heap = Heap.of(backend);
    const { rows, channels } = rowsAndChannels(x);
    const y = heap.output(x.shape);
    const mean = heap.output([channels]);
    const variance = heap.output([channels]);
    const bytes = scratchBytes(channels);
    heap.withScratch(bytes.sums + bytes.coefficients, (scratch) =>
      heap.kernels.batch_norm_forward(
        heap.offset(x), heap.offset(gamma), heap.offset(beta), heap.offset(y), heap.offset(mean), heap.offset(variance),
        rows, channels, epsilon, scratch, scratch + bytes.sums,
      ),
    );
    return [y, mean, variance];
  },
};

/** [dx, dgamma, dbeta] from x, dy, gamma and the forward's batch mean and variance. */
export const batchNormTrainingGradWasm: tf.KernelConfig = {
  kernelName: BatchNormTrainingGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, dy, gamma, mean, variance } = inputs as Record<'x' | 'dy' | 'gamma' | 'mean' | 'variance', tf.TensorInfo>;
    const { epsilon } = attrs as unknown as BatchNormTrainingAttrs;
    const heap = Heap.of(backend);
    const { rows, channels } = rowsAndChannels(x);
    const dx = heap.output(x.shape);
    const dgamma = heap.output([channels]);
    const dbeta = heap.output([channels]);
    const bytes = scratchBytes(channels);
    heap.withScratch(bytes.sums + bytes.coefficients, (scratch) =>
      heap.kernels.batch_norm_backward(
        heap.offset(x), heap.offset(dy), heap.offset(gamma), heap.offset(mean), heap.offset(variance),
        heap.offset(dx), heap.offset(dgamma), heap.offset(dbeta), rows, channels, epsilon, scratch, scratch + bytes.sums,
      ),
    );
    return [dx, dgamma, dbeta];
  },
};
