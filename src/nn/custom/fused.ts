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
  add: 2, sub: 3, mul: 4, div: 5, neg: 6, lt: 7, le: 8, gt: 9, ge: 10, eq: 11, ne: 12,
  and: 13, or: 14, not: 15, where: 16, exp: 17, sqrt: 18, abs: 19, sign: 20, min: 21, max: 22, relu: 23, clip: 24,
};
const opInput = 0;
const opConstant = 1;

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
    const code: number[] = [];
    const constants: number[] = [];
    let registers = 0;
    const emit = (e: Expr): number | null => {
      if (kindOf(e.shape) === null) return null;
      const args: number[] = [];
      let op: number | undefined;
      switch (e.kind) {
        case 'constant':
          op = opConstant;
          args.push(constants.push(e.value) - 1);
          break;
        case 'input':
          op = opInput;
          args.push(inputNames.indexOf(e.name));
          if (args[0]! < 0) return null;
          break;
        case 'apply':
          op = opcodes[e.op];
          if (op === undefined) return null;
          for (const arg of e.args) {
            const r = emit(arg);
            if (r === null) return null;
            args.push(r);
          }
          break;
        case 'reduce':
          return null;
      }
      code.push(op, registers, args[0] ?? 0, args[1] ?? 0, args[2] ?? 0);
      return registers++;
    };
    const outputRegisters: number[] = [];
    for (const root of roots) {
      const r = emit(root.expr);
      if (r === null) return null;
      outputRegisters.push(r);
    }
    return { code, constants, inputKinds, outputRegisters, outputKinds: roots.map((r) => r.kind), registers, channels: c };
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
