import type * as tf from '@tensorflow/tfjs-core';

/** A tensor seen as [rows, channels]: channels is its last axis (1 for a scalar). */
export function rowsAndChannels(t: tf.TensorInfo): { rows: number; channels: number } {
  const channels = t.shape.at(-1) ?? 1;
  const size = t.shape.reduce((a, b) => a * b, 1);
  return { rows: channels === 0 ? 0 : size / channels, channels };
}

/** Bytes of per-channel sum scratch (channel_sums.h): channels rounded up to 4 floats, then channels doubles. */
export function channelSumsScratchBytes(channels: number): number {
  return 4 * (Math.ceil(channels / 4) * 4) + 8 * channels;
}
