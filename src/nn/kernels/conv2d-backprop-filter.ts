import { explicitPadding } from './padding.js';
import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';

/**
 * Conv2DBackpropFilter for the wasm backend, which lacks it: conv2d_backprop_filter.c reads the
 * input's image patches in place and sums their products with dy in SIMD registers,
 *   dW[kh, kw, ci, co] = sum over n, oh, ow of Xpadded[n, oh*sh + kh*dh, ow*sw + kw*dw, ci] * dY[n, oh, ow, co],
 * with no im2col copy and no transposed matrix product. A `dilations` attribute (trainyard's own,
 * passed by the Conv2DWithBias gradient) spaces the taps, so a dilated filter's gradient needs no
 * zero-spread filter. The input is zero-padded into scratch
 * memory first when the convolution pads; co is padded to whole SIMD vectors when it is not one.
 * On tfjs's threaded build the taps are split over the kernel pool's threads (each writes its
 * own rows of dW and reads all of x and dy), when there is enough work to pay for the hand-off.
 */
export const conv2dBackpropFilterWasm: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, pad, dataFormat, filterShape, dilations = 1 } = attrs as unknown as tf.Conv2DBackpropFilterAttrs & DilationsAttr;
    if (dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, not ${dataFormat}`);
    const [n, h, w, ci] = x.shape as [number, number, number, number];
    const [, oh, ow, co] = dy.shape as [number, number, number, number];
    const [kh, kw] = filterShape as [number, number, number, number];
    const s = pair(strides);
    const d = pair(dilations);
    const [top, bottom, left, right] = explicitPadding(pad, [h, w], [oh, ow], [(kh - 1) * d[0] + 1, (kw - 1) * d[1] + 1], s);
    const heap = Heap.of(backend);
    const dw = heap.output([kh, kw, ci, co]);
    const coStride = Math.ceil(co / 4) * 4;
    const ph = h + top + bottom;
    const pw = w + left + right;
    const padded = top + bottom + left + right > 0;
    const taps = kh * kw * ci;
    const bytes = {
      x: padded ? 4 * n * ph * pw * ci : 0,
      dy: coStride !== co ? 4 * n * oh * ow * coStride : 0,
      dw: coStride !== co ? 4 * taps * coStride : 0,
    };
    heap.withScratch(bytes.x + bytes.dy + bytes.dw, (scratch) => {
      const k = heap.kernels;
      if (padded) heap.padNhwc(x, scratch, [top, bottom, left, right]);
      const xAt = padded ? scratch : heap.offset(x);
      let dyAt = heap.offset(dy);
      let dwAt = heap.offset(dw);
      if (coStride !== co) {
        k.copy_rows(dyAt, co, scratch + bytes.x, coStride, n * oh * ow, co);
        dyAt = scratch + bytes.x;
        dwAt = scratch + bytes.x + bytes.dy;
      }
      // Ranges of whole tap pairs: the kernel sums two taps at a time.
      heap.runSplit('conv2d_backprop_filter', taps, n * oh * ow * taps * coStride, (begin, end) =>
        [xAt, dyAt, dwAt, n, ph, pw, ci, oh, ow, coStride, kw, s[0], s[1], d[0], d[1], begin, end], 2);
      if (coStride !== co) k.copy_rows(dwAt, coStride, heap.offset(dw), co, taps, co);
    });
    return dw;
  },
};

/** trainyard's attribute for a dilated convolution's gradient kernels (tfjs's attributes have none). */
export interface DilationsAttr {
  dilations?: number | [number, number];
}

export function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

