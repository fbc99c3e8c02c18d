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
 * Where conv2d_forward.c beat XNNPACK (npm run bench:conv-forward: batch 128 unless said, fastest of
 * 9-15 runs each, interleaved; Zen 3, one thread, a shared 2-core machine at load 3-5): on all 18
 * of the zoo's shapes, 1.1-1.45x from ci = 8 up (e.g. [14,14,16]x[3,3,16,32] 6.3-6.8 against
 * 8.0-8.3 ms, [16,16,32]x[3,3,32,64] 31-38 against 40-41 ms, [14,14,16]x[5,5,16,32] dilation 2
 * 18.5-19 against 23-27 ms) and 1.15-2.7x on the first layers (ci = 1 or 3: [28,28,1]x[5,5,1,20]
 * 2.9-3.0 against 5.8-8.2 ms; [32,32,3]x[3,3,3,32] 7.2-7.5 against 8.7 ms). Beyond the zoo:
 * [32,16,16,128]x[3,3,128,128] 1.14-1.49x, [32,8,8,256]x[3,3,256,256] 1.16-1.28x,
 * [16,8,8,512]x[3,3,512,256] 0.95-1.09x (4608 taps, 144 KiB of filter a co block, streamed from
 * L2), 1x1 64 -> 128 0.98-1.0x: up to 3x3x256 taps ours, beyond that (not measured further, and
 * only more of the filter out of L1) XNNPACK. On 2 threads the figures were too noisy on this
 * machine to choose otherwise (0.7-2.7x, each side often getting one core).
 */
export function ourKernelIsFaster(filterShape: number[]): boolean {
  const [kh, kw, ci] = filterShape as [number, number, number, number];
  return kh * kw * ci <= 3 * 3 * 256;
}

/**
 * conv2d(x, filter) + bias (NHWC, filter [kh, kw, ci, co]; no bias: zeros) on the wasm backend with
 * trainyard's kernel (conv2d_forward.c), x zero-padded by `padding` [top, bottom, left, right]
 * first and the filter packed by blocks of co (conv2d_forward.c). The output is a new tensor of the
 * backend. Split by output rows over the kernel pool's threads where there is one. (Padding in
 * scratch costs little: [128,16,16,32]x[3,3,32,64] and [128,32,32,3]x[3,3,3,32] took the same time,
 * within 5%, on an x padded beforehand, so the kernel has no border cases.)
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
  // The bias is copied (co padded to coStride with zeros) when co is not a multiple of 4 or there is none.
  const ownBias = bias === null || coStride !== co;
  const bytes = { x: padded ? 4 * n * ph * pw * ci : 0, filter: 4 * taps * coStride, bias: ownBias ? 4 * coStride : 0 };
  heap.withScratch(bytes.x + bytes.filter + bytes.bias, (scratch) => {
    const k = heap.kernels;
    if (padded) heap.padNhwc(x, scratch, [top, bottom, left, right]);
    const xAt = padded ? scratch : heap.offset(x);
    const packedAt = scratch + bytes.x;
    k.conv2d_forward_pack_filter(heap.offset(filter), packedAt, taps, co);
    const biasAt = ownBias ? scratch + bytes.x + bytes.filter : heap.offset(bias);
    if (ownBias) k.copy_rows(bias === null ? biasAt : heap.offset(bias), co, biasAt, coStride, 1, bias === null ? 0 : co);
    heap.runSplit('conv2d_forward', n * oh, n * oh * ow * taps * co, (begin, end) =>
      [xAt, packedAt, biasAt, heap.offset(out), ph, pw, ci, oh, ow, co, kh, kw, sh, sw, dh, dw, begin, end]);
  });
  return out;
}
