import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { Conv2DWithBias, type Conv2DWithBiasAttrs } from './names.js';

/**
 * conv2d(x, filter) + bias in one pass: trainyard's own kernel (conv2d_forward.c) where it
 * measured faster than XNNPACK (ourKernelIsFaster), else tfjs-backend-wasm's FusedConv2D (XNNPACK
 * adds the bias as it writes the output). A kernel of its own name so that it can have a gradient
 * that computes only the inputs asked for (see src/nn/ops/conv.ts); tf.fused.conv2d's computes all
 * three.
 */
export const conv2dWithBiasWasm: tf.KernelConfig = {
  kernelName: Conv2DWithBias,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, filter, bias } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo };
    const { strides, pad, dilations } = attrs as unknown as Conv2DWithBiasAttrs;
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, dilations, pad, 'floor');
    const { top, bottom, left, right } = info.padInfo;
    if (ourKernelIsFaster(filter.shape)) return conv2dOnWasm(backend, x, filter, bias, strides, dilations, [top, bottom, left, right]);
    const fused = tf.getKernel(tf.FusedConv2D, 'wasm');
    if (!fused) throw new Error('tfjs-backend-wasm has no FusedConv2D kernel');
    const fusedAttrs: tf.FusedConv2DAttrs = { strides, pad, dataFormat: 'NHWC', dilations, dimRoundingMode: 'floor', activation: 'linear' };
    return fused.kernelFunc({ inputs, attrs: fusedAttrs as unknown as tf.NamedAttrMap, backend });
  },
};

/**
 * Where conv2d_forward.c beat XNNPACK (npm run bench:conv-forward, batch 128 unless said, min of 9-15
 * runs, Zen 3, a shared 2-core machine): on one thread on all 18 of the zoo's shapes, 1.1-1.4x from
 * ci = 8 up (e.g. [14,14,16]x[3,3,16,32] 6.3 against 7.9 ms, [16,16,32]x[3,3,32,64] 33 against 39-42 ms,
 * [14,14,16]x[5,5,16,32] dilation 2 19.5 against 23 ms) and 1.2-2.4x on the first layers (ci = 1
 * or 3: [28,28,1]x[5,5,1,20] 2.9 against 6.0 ms; [32,32,3]x[3,3,3,32] 7.3 against 8.8 ms); on 2
 * threads 1.03-1.3x where both sides got both cores. Beyond the zoo, up to 3x3x128 taps (a co
 * block's filter columns, taps x 32 bytes, 36 KiB) 1.1x ([32,16,16,128]x[3,3,128,128] 69-77 against
 * 75-86 ms); from 3x3x256 (72 KiB, past L1) 0.45-0.8x ([32,8,8,256]x[3,3,256,256] 110-135
 * against 81-86 ms): there XNNPACK's blocking of the taps wins.
 */
export function ourKernelIsFaster(filterShape: number[]): boolean {
  const [kh, kw, ci] = filterShape as [number, number, number, number];
  return kh * kw * ci <= 3 * 3 * 128;
}

/**
 * conv2d(x, filter) + bias (NHWC, filter [kh, kw, ci, co]; no bias: zeros) on the wasm backend with
 * trainyard's kernel (conv2d_forward.c), x zero-padded by `padding` [top, bottom, left, right]
 * first. The output is a new tensor of the backend. Split by output rows over the kernel pool's
 * threads where there is one.
 */
export function conv2dOnWasm(
  backend: object,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | null,
  strides: [number, number],
  dilations: [number, number],
  [top, bottom, left, right]: [number, number, number, number],
): tf.TensorInfo {
  const [n, h, w, ci] = x.shape as [number, number, number, number];
  const [kh, kw, , co] = filter.shape as [number, number, number, number];
  const [sh, sw] = strides;
  const [dh, dw] = dilations;
  const ph = h + top + bottom;
  const pw = w + left + right;
  const oh = Math.floor((ph - (kh - 1) * dh - 1) / sh) + 1;
  const ow = Math.floor((pw - (kw - 1) * dw - 1) / sw) + 1;
  const heap = Heap.of(backend);
  const out = heap.output([n, oh, ow, co]);
  if (n * oh * ow * co === 0) return out;
  const coStride = Math.ceil(co / 4) * 4;
  const padded = top + bottom + left + right > 0;
  const taps = kh * kw * ci;
  // Filter and bias are copied (co padded to coStride with zeros) when co is not a multiple of 4 or there is no bias.
  const ownBias = bias === null || coStride !== co;
  const bytes = {
    x: padded ? 4 * n * ph * pw * ci : 0,
    filter: coStride !== co ? 4 * taps * coStride : 0,
    bias: ownBias ? 4 * coStride : 0,
  };
  heap.withScratch(bytes.x + bytes.filter + bytes.bias, (scratch) => {
    const k = heap.kernels;
    if (padded) {
      const [xOffset, image, paddedImage] = [heap.offset(x), 4 * h * w * ci, 4 * ph * pw * ci];
      heap.runSplit('pad_nhwc', n, n * ph * pw * ci, (b, e) => [xOffset + b * image, scratch + b * paddedImage, e - b, h, w, ci, top, bottom, left, right]);
    }
    const xAt = padded ? scratch : heap.offset(x);
    let filterAt = heap.offset(filter);
    if (coStride !== co) {
      k.copy_rows(filterAt, co, scratch + bytes.x, coStride, taps, co);
      filterAt = scratch + bytes.x;
    }
    let biasAt = bias === null ? 0 : heap.offset(bias);
    if (ownBias) {
      biasAt = scratch + bytes.x + bytes.filter;
      k.copy_rows(bias === null ? biasAt : heap.offset(bias), co, biasAt, coStride, 1, bias === null ? 0 : co);
    }
    heap.runSplit('conv2d_forward', n * oh, n * oh * ow * taps * co, (begin, end) =>
      [xAt, filterAt, biasAt, heap.offset(out), ph, pw, ci, oh, ow, co, coStride, kh, kw, sh, sw, dh, dw, begin, end]);
  });
  return out;
}
