import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { SpreadPad, type SpreadPadAttrs, FlipFilter } from './names.js';

/**
 * The two layout steps that turn a convolution's input gradient into an ordinary convolution
 * (src/nn/ops/conv.ts): dy spread out by the strides and padded, and the filter flipped with its
 * channel axes swapped (conv2d_backprop_input.c). Each is one pass; tf.pad, reshape and reverse
 * would take several copies.
 */
export const spreadPadWasm: tf.KernelConfig = {
  kernelName: SpreadPad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const { strides, top, left, outHeight, outWidth } = attrs as unknown as SpreadPadAttrs;
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const heap = Heap.of(backend);
    const out = heap.output([n, outHeight, outWidth, c]);
    heap.kernels.spread_pad_nhwc(heap.offset(x), heap.offset(out), n, h, w, c, strides[0], strides[1], top, left, outHeight, outWidth);
    return out;
  },
};

export const flipFilterWasm: tf.KernelConfig = {
  kernelName: FlipFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const [kh, kw, ci, co] = x.shape as [number, number, number, number];
    const heap = Heap.of(backend);
    const out = heap.output([kh, kw, co, ci]);
    heap.kernels.flip_filter(heap.offset(x), heap.offset(out), kh, kw, ci, co);
    return out;
  },
};
