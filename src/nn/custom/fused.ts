import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from '../kernels/index.js';
import { Expression, ValueKind, type ExpressionAttrs } from '../kernels/names.js';
import { compileLayer, type LayerFunction } from './compile.js';
import { inputName, outputGradientName, outputName } from './definition.js';
import type { Expr } from './evaluate.js';
import type { ElementwiseOp } from './language.js';
import type { LayerProgram } from './program.js';
import type { Shape } from './shape.js';

/**
 * A custom layer compiled into two fused kernels where the backend has them (wasm): one pass over
 * the input for the forward, one for the backward giving dx and every learnable's gradient with
 * its sum folded in, instead of one tfjs op (and one tensor) per operation. It covers elementwise
 * layers with a hand-written backward whose learnables are per channel or scalar, whose learnable
 * gradients are sum(..., over everything the learnable does not vary along), and whose operations
 * expression.c implements; any other program, and every other backend, runs compileLayer's plain
 * tfjs ops, with the same numbers to float32 rounding.
 */
export function fusedLayerFunction(program: LayerProgram): LayerFunction {
  const plain = compileLayer(program);
  const compiled = compileProgram(program);
  if (!compiled) return plain;
  const withGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [x, ...learnables] = args as tf.Tensor[];
    const [z] = run(compiled.forward, [x!, ...learnables]);
    save([x!, ...learnables, z!]);
    return {
      value: z!,
      gradFunc: (dz: tf.Tensor, saved: tf.Tensor[]) => {
        const ws = saved.slice(1, -1);
        const [dx, ...dws] = run(compiled.backward, [saved[0]!, saved.at(-1)!, dz, ...ws]);
        return [dx!, ...dws.map((g, i) => tf.reshape(g, ws[i]!.shape))];
      },
    };
  });
  return (x, learnables) => (hasKernel(Expression) ? withGradient(x, ...learnables) : plain(x, learnables));
}

function run(attrs: ExpressionAttrs, values: tf.Tensor[]): tf.Tensor[] {
  const inputs = Object.fromEntries(values.map((v, i) => [`in${i}`, v]));
  return tf.engine().runKernel(Expression, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

const opcodes: Partial<Record<ElementwiseOp, number>> = {
  add: 0, sub: 1, mul: 2, div: 3, neg: 4, lt: 5, le: 6, gt: 7, ge: 8, eq: 9, ne: 10,
  and: 11, or: 12, not: 13, where: 14, exp: 15, sqrt: 16, abs: 17, sign: 18, min: 19, max: 20, relu: 21, clip: 22,
};

/** Code for expression.c from a program's trees, or null when the program is outside what it covers. */
function compileProgram(program: LayerProgram): { forward: ExpressionAttrs; backward: ExpressionAttrs } | null {
  const [h, w, c] = program.inputSize;
  const [oh, ow, oc] = program.outputSize;
  if (!program.backward || oh !== h || ow !== w || oc !== c) return null;
  const kindOf = (shape: Shape): ValueKind | null => {
    if (shape[0] === 'N' && shape[1] === h && shape[2] === w && shape[3] === c) return ValueKind.Full;
    if (shape[0] === 1 && shape[1] === 1 && shape[2] === 1) return shape[3] === c ? ValueKind.PerChannel : shape[3] === 1 ? ValueKind.Scalar : null;
    return null;
  };
  const learnableKinds = program.learnables.map((l) => kindOf(l.shape));
  if (learnableKinds.some((k) => k === null)) return null;
  const learnableNames = program.learnables.map((l) => l.name);

  const assemble = (inputNames: string[], inputKinds: ValueKind[], roots: { expr: Expr; kind: ValueKind }[]): ExpressionAttrs | null => {
    const steps = operationSteps(inputNames, roots.map((r) => r.expr), (e) => kindOf(e.shape) !== null);
    return steps && { ...steps, inputKinds, outputKinds: roots.map((r) => r.kind), channels: c };
  };

  // A learnable's gradient must be the sum of a full-shaped value down to the learnable's shape.
  const summed = program.backward.learnables.map((e, i) => {
    const kind = learnableKinds[i]!;
    const axes = kind === ValueKind.PerChannel ? '0,1,2' : '0,1,2,3';
    const plainSum = e.kind === 'reduce' && e.op === 'sum' && e.repeats.fixed === 1 && !e.repeats.perObservation;
    return plainSum && e.axes.join() === axes && kindOf(e.arg.shape) === ValueKind.Full ? { expr: e.arg, kind } : null;
  });
  if (summed.some((s) => s === null)) return null;
  const forward = assemble([inputName, ...learnableNames], [ValueKind.Full, ...(learnableKinds as ValueKind[])], [{ expr: program.forward, kind: ValueKind.Full }]);
  const backward = assemble(
    [inputName, outputName, outputGradientName, ...learnableNames],
    [ValueKind.Full, ValueKind.Full, ValueKind.Full, ...(learnableKinds as ValueKind[])],
    [{ expr: program.backward.x, kind: ValueKind.Full }, ...(summed as { expr: Expr; kind: ValueKind }[])],
  );
  return forward && backward ? { forward, backward } : null;
}

/** A value the machine reads: an input, a constant, or the result of an operation step. */
type Operand = { kind: 'input' | 'constant' | 'step'; index: number };

/**
 * The trees as straight-line code for expression.c: each distinct operation once, however often
 * the trees repeat it (a backward's dx and its learnables' sums often share terms), inputs and
 * constants read where they are, and the registers of values no longer needed reused, so that a block's registers stay in the processor's first-level cache. Null when
 * a node is outside what the machine covers (a reduction, an operation it lacks, a shape `fits`
 * refuses, a name not among the inputs).
 */
function operationSteps(
  inputNames: string[],
  roots: Expr[],
  fits: (e: Expr) => boolean,
): Pick<ExpressionAttrs, 'code' | 'constants' | 'outputSlots' | 'registers'> | null {
  const constants: number[] = [];
  const steps: { op: number; args: Operand[] }[] = [];
  const known = new Map<string, Operand>();
  const keyOf = (o: Operand) => `${o.kind[0]}${o.index}`;
  const once = (key: string, make: () => Operand): Operand => {
    let operand = known.get(key);
    if (!operand) known.set(key, (operand = make()));
    return operand;
  };
  const visit = (e: Expr): Operand | null => {
    if (!fits(e)) return null;
    switch (e.kind) {
      case 'constant':
        // Keyed by the float32 bits, so that 0 and -0 stay apart.
        return once(`c${new Int32Array(Float32Array.of(e.value).buffer)[0]}`, () => ({ kind: 'constant', index: constants.push(e.value) - 1 }));
      case 'input': {
        const index = inputNames.indexOf(e.name);
        return index < 0 ? null : { kind: 'input', index };
      }
      case 'apply': {
        const op = opcodes[e.op];
        if (op === undefined) return null;
        const args: Operand[] = [];
        for (const arg of e.args) {
          const operand = visit(arg);
          if (!operand) return null;
          args.push(operand);
        }
        return once(`${op}(${args.map(keyOf).join()})`, () => ({ kind: 'step', index: steps.push({ op, args }) - 1 }));
      }
      case 'reduce':
        return null;
    }
  };
  const outputs: Operand[] = [];
  for (const root of roots) {
    const operand = visit(root);
    if (!operand) return null;
    outputs.push(operand);
  }

  // Registers by liveness: a step's operands whose last use it is free their registers before it
  // takes one (each operation reads a lane before writing it, so it may overwrite an operand);
  // outputs stay live to the end of the block.
  const lastUse = steps.map(() => -1);
  steps.forEach((step, k) => step.args.forEach((a) => a.kind === 'step' && (lastUse[a.index] = k)));
  outputs.forEach((o) => o.kind === 'step' && (lastUse[o.index] = Infinity));
  const registerOf: number[] = [];
  const free: number[] = [];
  let registers = 0;
  steps.forEach((step, k) => {
    for (const a of new Set(step.args.filter((a) => a.kind === 'step' && lastUse[a.index] === k).map((a) => a.index))) free.push(registerOf[a]!);
    registerOf[k] = free.pop() ?? registers++;
  });
  const slot = (o: Operand) =>
    o.kind === 'input' ? o.index : o.kind === 'constant' ? inputNames.length + o.index : inputNames.length + constants.length + registerOf[o.index]!;
  const code = steps.flatMap((step, k) => [step.op, slot({ kind: 'step', index: k }), ...[0, 1, 2].map((i) => (step.args[i] ? slot(step.args[i]!) : 0))]);
  return { code, constants, outputSlots: outputs.map(slot), registers };
}
