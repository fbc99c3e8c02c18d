import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { ChannelSums } from './names.js';
import { channelSumsScratchBytes, rowsAndChannels } from './rows.js';

/** Sums over every axis but the last (a convolution's bias gradient), without the transpose wasm's Sum makes. */
export const channelSumsWasm: tf.KernelConfig = {
  kernelName: ChannelSums,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const heap = Heap.of(backend);
    const { rows, channels } = rowsAndChannels(x);
    const out = heap.output([channels]);
    heap.withScratch(channelSumsScratchBytes(channels), (scratch) => heap.kernels.channel_sums(heap.offset(x), heap.offset(out), rows, channels, scratch));
    return out;
  },
};
