import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { ConvInputGradient, type ConvInputGradientAttrs } from './names.js';
import { explicitPadding } from './padding.js';

/**
 * A convolution's input gradient with only the real multiplications (conv_input_gradient.c): each
 * output position's dy row times the filter, added into dx at the pixels its taps read. The filter
 * is laid out per tap in scratch memory first (filter_tap_panels). On tfjs's threaded build the
 * images are split over the kernel pool's threads (each zeroes and writes its own images of dx).
 */
export const convInputGradientWasm: tf.KernelConfig = {
  kernelName: ConvInputGradient,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape, strides, pad, dilations } = attrs as unknown as ConvInputGradientAttrs;
    const [n, h, w, ci] = inputShape;
    const [, oh, ow, co] = dy.shape as [number, number, number, number];
    const [kh, kw] = filter.shape as [number, number, number, number];
    const [top, , left] = explicitPadding(pad, [h, w], [oh, ow], [(kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1], strides);
    const heap = Heap.of(backend);
    const dx = heap.output(inputShape);
    const ciStride = Math.ceil(ci / 4) * 4;
    heap.withScratch(4 * kh * kw * co * ciStride, (panels) => {
      heap.kernels.filter_tap_panels(heap.offset(filter), panels, kh * kw, ci, co, ciStride);
      const [dyAt, dxAt] = [heap.offset(dy), heap.offset(dx)];
      heap.runSplit('conv_input_gradient', n, n * oh * ow * co * kh * kw * ci, (begin, end) =>
        [dyAt, panels, dxAt, h, w, ci, oh, ow, co, ciStride, kh, kw, strides[0], strides[1], dilations[0], dilations[1], top, left, begin, end]);
    });
    return dx;
  },
};
