import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { Expression, ValueKind, type ExpressionAttrs } from './names.js';

/** Pixels a register holds: about 256 floats, in whole pixels and whole vectors of 4 floats. */
function blockPixels(channels: number): number {
  const vectorPixels = 4 / (channels % 4 === 0 ? 4 : channels % 2 === 0 ? 2 : 1);
  return Math.ceil(Math.max(1, Math.floor(256 / channels)) / vectorPixels) * vectorPixels;
}

/**
 * Runs compiled custom-layer expressions (see src/nn/custom/fused.ts) in one pass over the input
 * with expression.c's register machine: the forward gives z, the backward dx and every learnable's
 * summed gradient at once.
 */
export const expressionWasm: tf.KernelConfig = {
  kernelName: Expression,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const a = attrs as unknown as ExpressionAttrs;
    const ins = a.inputKinds.map((_, i) => (inputs as Record<string, tf.TensorInfo>)[`in${i}`]!);
    const full = ins[0]!;
    const heap = Heap.of(backend);
    const outputs = a.outputKinds.map((kind) => heap.output(kind === ValueKind.Full ? full.shape : kind === ValueKind.PerChannel ? [a.channels] : [1]));
    const nIn = ins.length;
    const nOut = outputs.length;
    const frameInts = a.code.length + a.constants.length + 2 * nIn + 3 * nOut;
    const frameBytes = Math.ceil((4 * frameInts) / 16) * 16;
    const pixels = blockPixels(a.channels);
    const block = pixels * a.channels;
    const slots = nIn + a.constants.length + a.registers;
    const scratchBytes = 4 * block * (a.registers + nIn + a.constants.length + nOut) + 8 * a.channels * nOut + 4 * slots;
    heap.withScratch(frameBytes + scratchBytes, (pointer) => {
      const frame = heap.ints(pointer, frameInts);
      let at = 0;
      frame.set(a.code, at);
      at += a.code.length;
      new Float32Array(frame.buffer, frame.byteOffset + 4 * at, a.constants.length).set(a.constants);
      at += a.constants.length;
      frame.set(ins.map((t) => heap.offset(t)), at);
      frame.set(a.inputKinds, (at += nIn));
      frame.set(a.outputSlots, (at += nIn));
      frame.set(a.outputKinds, (at += nOut));
      frame.set(outputs.map((t) => heap.offset(t)), (at += nOut));
      const rows = tf.util.sizeFromShape(full.shape) / a.channels;
      heap.kernels.expression_run(pointer, a.code.length / 5, a.constants.length, nIn, nOut, a.registers, rows, a.channels, pixels, pointer + frameBytes);
    });
    return outputs;
  },
};
