import * as tf from '@tensorflow/tfjs-core';
import { expressionModule } from '../wasm/expression-module.js';
import { Heap } from '../wasm/heap.js';
import { Expression, ValueKind, type ExpressionAttrs } from './names.js';

/**
 * Runs compiled custom-layer expressions (see src/nn/custom/fused.ts) in one pass over the input:
 * the forward gives z, the backward dx and every learnable's summed gradient at once. The bulk runs
 * in a wasm module built for the program (src/nn/wasm/expression-module.ts), in whole periods of
 * lcm(channels, 4) floats so that its vectors of 4 keep one channel each lane; the few rows after
 * the last whole period run on expression.c's register machine.
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
    const total = tf.util.sizeFromShape(full.shape);
    const period = a.channels % 4 === 0 ? a.channels : a.channels % 2 === 0 ? 2 * a.channels : 4 * a.channels;
    const whole = Math.floor(total / period) * period;
    const inPointers = ins.map((t) => heap.offset(t));
    const outPointers = outputs.map((t) => heap.offset(t));
    const summed = a.outputKinds.flatMap((kind, o) => (kind === ValueKind.Full ? [] : [o]));
    if (whole < total) {
      // Sums from these rows go into the outputs, and the compiled part's are added to them below.
      const after = (pointers: number[], kinds: number[]) => pointers.map((p, k) => (kinds[k] === ValueKind.Full ? p + 4 * whole : p));
      interpret(heap, a, after(inPointers, a.inputKinds), after(outPointers, a.outputKinds), (total - whole) / a.channels);
    }
    const totals = summed.map(() => new Float64Array(a.channels));
    if (whole > 0) runCompiled(heap, a, inPointers, outPointers, whole, period, totals);
    summed.forEach((o, k) => {
      const result = heap.floats(outPointers[o]!, a.outputKinds[o] === ValueKind.PerChannel ? a.channels : 1);
      const tail = whole < total ? Float64Array.from(result) : new Float64Array(result.length);
      if (result.length === 1) result[0] = tail[0]! + totals[k]!.reduce((s, v) => s + v, 0);
      else result.forEach((_, ch) => (result[ch] = tail[ch]! + totals[k]![ch]!));
    });
    return outputs;
  },
};

type CompiledRun = (...args: number[]) => void;
/** Each program's module instance, by its attrs (one object per compiled layer, so the cache goes with the layer). */
const compiled = new WeakMap<ExpressionAttrs, { memory: WebAssembly.Memory; run: CompiledRun; table: Int32Array }>();

function compiledRun(heap: Heap, a: ExpressionAttrs): { run: CompiledRun; table: Int32Array } {
  const memory = heap.memory;
  const known = compiled.get(a);
  if (known?.memory === memory) return known;
  const { bytes, table } = expressionModule(a, memory.buffer instanceof SharedArrayBuffer);
  const run = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.run as CompiledRun;
  compiled.set(a, { memory, run, table });
  return { run, table };
}

/**
 * The first `whole` floats (whole periods) through the program's module, in one call. Per-channel
 * and scalar inputs are tiled over a period; summed outputs accumulate a period of doubles, folded
 * into `totals` (one array of channels per summed output, in output order).
 */
function runCompiled(heap: Heap, a: ExpressionAttrs, inPointers: number[], outPointers: number[], whole: number, period: number, totals: Float64Array[]): void {
  const { run, table } = compiledRun(heap, a);
  const nIn = a.inputKinds.length;
  const nOut = a.outputKinds.length;
  // Accumulators (8 bytes a float of the period) first, then input tiles, then the constants.
  heap.withScratch(8 * period * nOut + 4 * period * nIn + 4 * table.length, (scratch) => {
    const accumulator = (o: number) => scratch + 8 * period * o;
    const tile = (j: number) => scratch + 8 * period * nOut + 4 * period * j;
    const tablePointer = tile(nIn);
    heap.ints(tablePointer, table.length).set(table);
    const sums = heap.doubles(scratch, period * nOut);
    sums.fill(0);
    a.inputKinds.forEach((kind, j) => {
      if (kind === ValueKind.Full) return;
      const values = heap.floats(inPointers[j]!, kind === ValueKind.PerChannel ? a.channels : 1);
      const tiled = heap.floats(tile(j), period);
      for (let i = 0; i < period; i++) tiled[i] = values[kind === ValueKind.PerChannel ? i % a.channels : 0]!;
    });
    const inArgs = inPointers.map((p, j) => (a.inputKinds[j] === ValueKind.Full ? p : tile(j)));
    const outArgs = outPointers.map((p, o) => (a.outputKinds[o] === ValueKind.Full ? p : accumulator(o)));
    run(...inArgs, ...outArgs, 4 * whole, 4 * period, tablePointer);
    let summed = 0;
    a.outputKinds.forEach((kind, o) => {
      if (kind === ValueKind.Full) return;
      const total = totals[summed++]!;
      for (let i = 0; i < period; i++) total[i % a.channels]! += sums[o * period + i]!;
    });
  });
}

/** Pixels a register of expression.c holds: about 256 floats, in whole pixels and whole vectors of 4 floats. */
function blockPixels(channels: number): number {
  const vectorPixels = 4 / (channels % 4 === 0 ? 4 : channels % 2 === 0 ? 2 : 1);
  return Math.ceil(Math.max(1, Math.floor(256 / channels)) / vectorPixels) * vectorPixels;
}

/** `rows` pixels through expression.c's register machine, from and to the given pointers. */
function interpret(heap: Heap, a: ExpressionAttrs, inPointers: number[], outPointers: number[], rows: number): void {
  const nIn = inPointers.length;
  const nOut = outPointers.length;
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
    frame.set(inPointers, at);
    frame.set(a.inputKinds, (at += nIn));
    frame.set(a.outputSlots, (at += nIn));
    frame.set(a.outputKinds, (at += nOut));
    frame.set(outPointers, (at += nOut));
    heap.kernels.expression_run(pointer, a.code.length / 5, a.constants.length, nIn, nOut, a.registers, rows, a.channels, pixels, pointer + frameBytes);
  });
}
