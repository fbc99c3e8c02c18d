import type { Network } from './spec.js';

/**
 * A rough upper estimate of the memory training a network takes, to refuse absurd jobs before they
 * are queued: every layer's output for a whole mini-batch is kept for the backward pass and has a
 * gradient of the same size (x2), with about as much again in temporaries (x3 in all); every
 * learnable has a value, a gradient and up to two solver states (x4); all float32.
 */
export interface MemoryEstimate {
  bytes: number;
  activationBytes: number;
  learnableBytes: number;
}

export function estimateTrainingMemory(network: Network, miniBatchSize: number): MemoryEstimate {
  const perImage = network.layers.reduce((sum, layer) => sum + layer.outputSize[0] * layer.outputSize[1] * layer.outputSize[2], 0);
  const activationBytes = 3 * 4 * perImage * miniBatchSize;
  const learnableBytes = 4 * 4 * network.learnables;
  return { bytes: activationBytes + learnableBytes, activationBytes, learnableBytes };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 && unit > 0 ? 1 : 0)} ${units[unit]}`;
}
