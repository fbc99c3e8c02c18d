import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { FlipFilter, InterleavePhases, SpreadPad, type FlipFilterAttrs, type InterleavePhasesAttrs, type SpreadPadAttrs } from './names.js';

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
    const [x0, out0, image, spread] = [heap.offset(x), heap.offset(out), 4 * h * w * c, 4 * outHeight * outWidth * c];
    heap.runSplit('spread_pad_nhwc', n, n * outHeight * outWidth * c, (b, e) => [x0 + b * image, out0 + b * spread, e - b, h, w, c, strides[0], strides[1], top, left, outHeight, outWidth]);
    return out;
  },
};

export const flipFilterWasm: tf.KernelConfig = {
  kernelName: FlipFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const [kh, kw, ci, co] = x.shape as [number, number, number, number];
    const { first = [0, 0], strides = [1, 1] } = (attrs ?? {}) as Partial<FlipFilterAttrs>;
    const mh = Math.ceil((kh - first[0]) / strides[0]);
    const mw = Math.ceil((kw - first[1]) / strides[1]);
    const heap = Heap.of(backend);
    const out = heap.output([mh, mw, co, ci]);
    heap.kernels.flip_filter(heap.offset(x), heap.offset(out), kw, ci, co, first[0], first[1], strides[0], strides[1], mh, mw);
    return out;
  },
};

export const interleavePhasesWasm: tf.KernelConfig = {
  kernelName: InterleavePhases,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { strides, height, width, phases } = attrs as unknown as InterleavePhasesAttrs;
    const parts = phases.map((_, i) => inputs[`p${i}`]!);
    const [n, , , c] = parts[0]!.shape as [number, number, number, number];
    const heap = Heap.of(backend);
    const dx = heap.output([n, height, width, c]);
    for (const [i, { row, col }] of phases.entries()) {
      const [, rows, cols] = parts[i]!.shape as [number, number, number, number];
      heap.kernels.scatter_phase(heap.offset(parts[i]!), heap.offset(dx), n, rows, cols, c, height, width, row, col, strides[0], strides[1]);
    }
    return dx;
  },
};
