import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from '../kernels/index.js';
import { explicitPadding } from '../kernels/padding.js';
import { ChannelSums, Conv2DWithBias, ConvInputGradient, FlipFilter, InterleavePhases, SpreadPad, type Conv2DWithBiasAttrs, type ConvInputGradientAttrs, type FlipFilterAttrs, type InterleavePhasesAttrs, type SpreadPadAttrs } from '../kernels/names.js';

/**
 * A 2-D convolution that can be trained with any dilation. tfjs has no gradient for dilated
 * convolutions, so a dilated one runs as an ordinary convolution with the filter spread out by
 * zeros (built from pad/reshape/slice, which all have gradients); the extra multiplications by
 * zero are the price of training it on every backend.
 */
export function conv2dTrainable(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  strides: [number, number],
  padding: 'valid' | 'same',
  dilation: [number, number],
): tf.Tensor4D {
  return tf.conv2d(x, undilatedFilter(kernel, dilation), strides, padding);
}

/**
 * conv2dTrainable(x, kernel) + bias, the training forward of a convolution layer. On wasm it is
 * one kernel (XNNPACK's fused convolution) whose gradient computes only what the tape asks for:
 * a first layer's input gradient (a transposed convolution as costly as the forward) is skipped,
 * and a dilated filter is used as it is (XNNPACK and trainyard's gradient kernels take the
 * dilation), never spread out with zeros. Elsewhere it is tf.conv2d and tf.add.
 */
export function conv2dWithBias(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D,
  strides: [number, number],
  padding: 'valid' | 'same',
  dilation: [number, number],
): tf.Tensor4D {
  if (!hasKernel(Conv2DWithBias)) return tf.add(conv2dTrainable(x, kernel, strides, padding, dilation), bias);
  const attrs: Conv2DWithBiasAttrs = { strides, pad: padding, dilations: dilation };
  return tf.engine().runKernel(Conv2DWithBias, { x, filter: kernel, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** The filter of the ordinary convolution that computes a dilated one. */
function undilatedFilter(kernel: tf.Tensor4D, dilation: [number, number]): tf.Tensor4D {
  return dilation[0] === 1 && dilation[1] === 1 ? kernel : dilateFilter(kernel, dilation);
}

tf.registerGradient({
  kernelName: Conv2DWithBias,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { strides, pad, dilations } = attrs as unknown as Conv2DWithBiasAttrs;
    const dy4 = dy as tf.Tensor4D;
    const common = { strides, pad, dataFormat: 'NHWC', dilations };
    return {
      x: () => inputGradient(dy4, filter, x.shape, strides, pad, dilations),
      filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dy4 }, { ...common, filterShape: filter.shape }) as tf.Tensor,
      bias: () => tf.engine().runKernel(ChannelSums, { x: dy4 }) as tf.Tensor,
    };
  },
});

/**
 * A convolution's input gradient (the transposed convolution), by whichever of two ways does less:
 * - as an ordinary convolution that XNNPACK runs: dy spread out by the strides (zeros between its
 *   rows and columns) and padded by (filter extent - 1 - the forward's padding), convolved with the
 *   filter flipped and its channel axes swapped, at the forward's dilation; a strided undilated one
 *   phase by phase, without the spread's zeros (phasedInputGradient). tfjs-backend-wasm's own
 *   Conv2DBackpropInput is a scalar loop, 5-10x slower.
 * - with only the real products (ConvInputGradient, conv_input_gradient.c): each output position's
 *   dy times the filter, added into dx at the pixels its taps read, the taps in the padding skipped.
 *   On the small maps of 'valid' convolutions most of the padded dy above is zeros: avgpool-leaky's
 *   5x5 'valid' 12x12x16 -> 8x8x32 does 105M products instead of 236M (6.7 ms instead of 17.9).
 * realProductsPay chooses; the real products win on every network of bench/zoo.
 */
function inputGradient(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  inputShape: number[],
  strides: [number, number],
  pad: 'valid' | 'same',
  dilations: [number, number],
): tf.Tensor4D {
  const [, h, w] = inputShape as [number, number, number, number];
  const [kh, kw] = filter.shape;
  const extent: [number, number] = [(kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1];
  const [top, , left] = explicitPadding(pad, [h, w], [dy.shape[1], dy.shape[2]], extent, strides);
  if (hasKernel(ConvInputGradient) && realProductsPay(inputShape, dy.shape, filter.shape, strides, dilations, [top, left])) {
    const attrs: ConvInputGradientAttrs = { inputShape: inputShape as ConvInputGradientAttrs['inputShape'], strides, pad, dilations };
    return tf.engine().runKernel(ConvInputGradient, { dy, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }
  if (phased(strides, dilations)) return phasedInputGradient(dy, filter, inputShape, strides, [top, left]);
  const attrs: SpreadPadAttrs = { strides, top: extent[0] - 1 - top, left: extent[1] - 1 - left, outHeight: h + extent[0] - 1, outWidth: w + extent[1] - 1 };
  return tf.tidy(() => {
    const spread = tf.engine().runKernel(SpreadPad, { x: dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
    const flipped = tf.engine().runKernel(FlipFilter, { x: filter }) as tf.Tensor4D;
    return tf.conv2d(spread, flipped, 1, 'valid', 'NHWC', dilations);
  });
}

function phased(strides: [number, number], dilations: [number, number]): boolean {
  return (strides[0] > 1 || strides[1] > 1) && dilations[0] === 1 && dilations[1] === 1;
}

/**
 * Whether the real-products kernel beats the convolution path: unless dy has fewer than 12
 * channels (its microkernel's inner loop runs over them, so a short one is mostly overhead) and
 * the convolution path multiplies less than a tenth more pairs. Both count (output position, tap)
 * pairs, axis by axis (channels and images are common factors). Measured on one thread, min of 8
 * interleaved repetitions at load 3-5 (ms, convolution path -> real products; batch 128 unless
 * said; the ratio is the real kernel's pairs to the path's):
 *   5x5 'valid' 12x12x16 -> 8x8x32 (avgpool-leaky):              17.9 -> 6.7  (0.44)
 *   3x3 dilation 2 'valid' 13x13x16 -> 9x9x32 (dilated-clipped):  8.6 -> 3.1  (0.48)
 *   3x3 stride 2 'same' 14x14x16 -> 7x7x32 (strided; phases):     2.5 -> 1.7  (0.91)
 *   3x3 'same' 14x14x16 -> 14x14x32 (elu-gap):                    9.7 -> 7.7  (0.91)
 *   3x3 'same' 28x28x16 -> 28x28x16 (residual):                  25.8 -> 20.3 (0.95)
 *   3x3 'same' 16x16x32 -> 16x16x64 (wide-rgb32):                44.8 -> 41.4 (0.92)
 *   3x3 stride 2 'same' 32x32x32 -> 16x16x64 (phases):           53.2 -> 38.6 (0.96)
 *   3x3 'same' 32x32x64 -> 32x32x128, batch 16:                  82.7 -> 71.3 (0.94)
 *   3x3 'same' 28x28x16 -> 28x28 by 12 / 8 / 4 channels:  15.6 -> 15.4, 13.8 -> 14.5, 8.9 -> 10.3
 *   5x5 stride 2 'same' 28x28x8 -> 14x14x6 (phases):              4.9 -> 5.9  (0.93)
 *   5x5 'valid' 12x12x16 -> 8x8x4:                                4.9 -> 3.3  (0.44)
 * XNNPACK's convolutions run at 22-29 GFLOP/s on these, the real-products kernel at 23-40 (over
 * the products it does) where dy has 16 channels or more, 10-17 where it has 4 to 8.
 */
function realProductsPay(
  inputShape: number[],
  dyShape: number[],
  filterShape: number[],
  strides: [number, number],
  dilations: [number, number],
  [top, left]: [number, number],
): boolean {
  const [, h, w] = inputShape as [number, number, number, number];
  const [, oh, ow] = dyShape as [number, number, number, number];
  const [kh, kw, , co] = filterShape as [number, number, number, number];
  const inside = pairsInside(h, oh, kh, strides[0], dilations[0], top) * pairsInside(w, ow, kw, strides[1], dilations[1], left);
  const path = phased(strides, dilations)
    ? phasePairs(h, oh, kh, strides[0], top) * phasePairs(w, ow, kw, strides[1], left)
    : h * kh * w * kw;
  return co >= 12 || inside <= 0.9 * path;
}

/** (output position, tap) pairs along one axis whose input position is inside the input, not in the padding. */
function pairsInside(inputLength: number, outputLength: number, taps: number, stride: number, dilation: number, before: number): number {
  let pairs = 0;
  for (let i = 0; i < taps; i++) {
    const first = Math.max(0, Math.ceil((before - i * dilation) / stride));
    const last = Math.min(outputLength - 1, Math.floor((inputLength - 1 + before - i * dilation) / stride));
    pairs += Math.max(0, last - first + 1);
  }
  return pairs;
}

/** The (position, tap) pairs the phases' convolutions compute along one axis, zero-padded dy included. */
function phasePairs(inputLength: number, dyLength: number, filterLength: number, s: number, top: number): number {
  return phases(inputLength, dyLength, filterLength, s, top).reduce((sum, p) => sum + p.count * p.taps, 0);
}

/**
 * One phase (along one axis) of a strided convolution's input gradient: the input positions
 * y = phase + p*s, p < count, receive dy[p + q - m] * w[tap + s*m] summed over m < taps, with tap
 * = (phase + top) mod s and q = (phase + top - tap) / s. So each phase is an ordinary convolution
 * of dy's rows (from q - (taps - 1), zero-padded where that leaves dy) with every s-th filter tap,
 * and the phases together are the transposed convolution with none of the zeros of a spread dy
 * (3 of 4 values at stride 2).
 */
interface Phase {
  phase: number;
  count: number;
  tap: number;
  taps: number;
  /** dy's rows read: [first, last], cut to dy's [0, length - 1] with zeros padded for the rest. */
  first: number;
  last: number;
}

function phases(inputLength: number, dyLength: number, filterLength: number, s: number, top: number): Phase[] {
  return Array.from({ length: s }, (_, phase) => {
    const count = phase < inputLength ? Math.ceil((inputLength - phase) / s) : 0;
    const tap = (phase + top) % s;
    const taps = tap < filterLength ? Math.ceil((filterLength - tap) / s) : 0;
    const q = (phase + top - tap) / s;
    return { phase, count, tap, taps, first: q - (taps - 1), last: count - 1 + q };
  }).filter((p) => p.count > 0 && dyLength > 0);
}

/** The input gradient of an undilated strided convolution, phase by phase (see Phase). */
function phasedInputGradient(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: number[], strides: [number, number], [top, left]: [number, number]): tf.Tensor4D {
  const [n, h, w, ci] = inputShape as [number, number, number, number];
  const [kh, kw, , co] = filter.shape;
  const [, oh, ow] = dy.shape;
  const rows = phases(h, oh, kh, strides[0], top);
  const cols = phases(w, ow, kw, strides[1], left);
  return tf.tidy(() => {
    const parts: tf.Tensor4D[] = [];
    const placed: InterleavePhasesAttrs['phases'] = [];
    for (const r of rows) {
      for (const c of cols) {
        placed.push({ row: r.phase, col: c.phase });
        const [r0, r1, c0, c1] = [Math.max(r.first, 0), Math.min(r.last, oh - 1), Math.max(c.first, 0), Math.min(c.last, ow - 1)];
        if (r.taps === 0 || c.taps === 0 || r0 > r1 || c0 > c1) {
          parts.push(tf.zeros([n, r.count, c.count, ci]));
          continue;
        }
        const whole = r0 === 0 && r1 === oh - 1 && c0 === 0 && c1 === ow - 1;
        const window = whole ? dy : tf.slice(dy, [0, r0, c0, 0], [n, r1 - r0 + 1, c1 - c0 + 1, co]);
        const tapsAttrs: FlipFilterAttrs = { first: [r.tap, c.tap], strides };
        const flipped = tf.engine().runKernel(FlipFilter, { x: filter }, tapsAttrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        const padding: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [r0 - r.first, r.last - r1], [c0 - c.first, c.last - c1], [0, 0]];
        parts.push(tf.conv2d(window, flipped, 1, padding));
      }
    }
    const attrs: InterleavePhasesAttrs = { strides, height: h, width: w, phases: placed };
    const inputs = Object.fromEntries(parts.map((p, i) => [`p${i}`, p]));
    return tf.engine().runKernel(InterleavePhases, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  });
}

/** [kh, kw, ci, co] -> [(kh-1)*dh+1, (kw-1)*dw+1, ci, co] with zeros between the taps. */
export function dilateFilter(kernel: tf.Tensor4D, [dh, dw]: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = kernel.shape;
    // One axis at a time, in rank 3 and 4: webgpu's pad (and its gradient, a slice) has no rank-6 shader.
    const rows = tf.pad(tf.reshape(kernel, [kh, 1, kw * ci * co]), [[0, 0], [0, dh - 1], [0, 0]]);
    const spread = tf.pad(tf.reshape(rows, [kh * dh, kw, 1, ci * co]), [[0, 0], [0, 0], [0, dw - 1], [0, 0]]);
    return tf.slice(tf.reshape(spread, [kh * dh, kw * dw, ci, co]), 0, [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co]) as tf.Tensor4D;
  });
}
