import type { Size3 } from '../spec.js';
import { analyze, type Scope } from './analyze.js';
import { inputName, outputGradientName, outputName, type CustomLayerDefinition, type LearnableDefinition, type LearnableShape } from './definition.js';
import { expressionError, type ExpressionError } from './errors.js';
import type { Expr } from './evaluate.js';
import { spellAxes } from './language.js';
import { extraAxes, inputShape, reduceShape, sameShape, showShape, type Shape } from './shape.js';
import { parseExpression } from './syntax.js';

/**
 * A custom layer definition checked against one input size: its expressions parsed and analysed,
 * every learnable's shape resolved, the output size inferred. Pure, so the validator can use it;
 * the tfjs layer and the float64 checker evaluate the same program.
 */
export interface LearnableSlot {
  name: string;
  definition: LearnableDefinition;
  /** The variable's shape: [channels] per channel, [1] for a scalar, else the extents given. */
  weightShape: number[];
  /** Its shape among the expression's values. */
  shape: Shape;
}

export interface LayerProgram {
  inputSize: Size3;
  outputSize: Size3;
  learnables: LearnableSlot[];
  forward: Expr;
  /** dL/dx, then dL/d(learnable) in the order of `learnables`; null to differentiate the forward automatically. */
  backward: { x: Expr; learnables: Expr[] } | null;
}

/** A problem in one field of the definition: "forward", "backward.alpha", "learnables.alpha.shape", "outputSize". */
export interface FieldError {
  field: string;
  error: ExpressionError;
}

export type Programmed = { ok: true; program: LayerProgram } | { ok: false; errors: FieldError[] };

export function programFor(definition: CustomLayerDefinition, input: Size3): Programmed {
  const errors: FieldError[] = [];
  const fail = (field: string, kind: ExpressionError['kind'], message: string) => errors.push({ field, error: expressionError(kind, message, 1) });
  const x = inputShape(input);

  const learnables: LearnableSlot[] = [];
  for (const [name, learnable] of Object.entries(definition.learnables)) {
    const resolved = resolveLearnableShape(learnable.shape, input);
    if (typeof resolved === 'string') fail(`learnables.${name}.shape`, 'shape', resolved);
    else learnables.push({ name, definition: learnable, ...resolved });
  }
  const scope = new Map<string, Shape>([[inputName, x], ...learnables.map((l): [string, Shape] => [l.name, l.shape])]);

  const expression = (field: string, source: string, names: ReadonlyMap<string, Shape>): Expr | null => {
    const parsed = parseExpression(source);
    const analyzed = parsed.ok ? analyze(parsed.tree, { names, input } satisfies Scope) : null;
    if (!parsed.ok) errors.push({ field, error: parsed.error });
    else if (!analyzed!.ok) errors.push(...analyzed!.errors.map((error) => ({ field, error })));
    return analyzed?.ok ? analyzed.expr : null;
  };

  const forward = expression('forward', definition.forward, scope);
  let outputSize: Size3 | null = null;
  if (forward && forward.shape[0] !== 'N') {
    fail('forward', 'shape', `the result (from column 1) has shape ${showShape(forward.shape)}: it does not vary by observation; a forward must use x`);
  } else if (forward) {
    outputSize = [forward.shape[1], forward.shape[2], forward.shape[3]];
    const expected = definition.outputSize;
    if (expected && !expected.every((d, i) => d === outputSize![i])) {
      fail('outputSize', 'shape', `outputSize [${expected.join(', ')}] is not the [${outputSize.join(', ')}] the forward gives`);
    }
  }

  let backward: LayerProgram['backward'] = null;
  if (definition.backward) {
    // Without a forward, z and dz take the input's shape so that names and syntax are still checked.
    const z = forward?.shape ?? x;
    const backwardScope = new Map([...scope, [outputName, z], [outputGradientName, z]]);
    const gradient = (name: string, target: Shape, targetText: string): Expr | null => {
      const field = `backward.${name}`;
      const expr = expression(field, definition.backward![name]!, backwardScope);
      if (expr && forward && !sameShape(expr.shape, target)) {
        const extra = extraAxes(expr.shape, target);
        const hint = extra.length > 0 && sameShape(reduceShape(expr.shape, extra), target) ? `; sum it over "${spellAxes(extra)}"` : '';
        fail(field, 'shape', `the result (from column 1) has shape ${showShape(expr.shape)} but ${targetText} is ${showShape(target)}${hint}`);
        return null;
      }
      return expr;
    };
    const dx = gradient(inputName, x, `x's shape`);
    const dw = learnables.map((l) => gradient(l.name, l.shape, `the shape of ${l.name} (${JSON.stringify(l.definition.shape)})`));
    if (dx && dw.every((e): e is Expr => e !== null)) backward = { x: dx, learnables: dw };
  }

  if (errors.length > 0 || !forward || !outputSize) return { ok: false, errors };
  return { ok: true, program: { inputSize: input, outputSize, learnables, forward, backward } };
}

/**
 * Where a learnable sits among [observations, height, width, channels]. Explicit extents are
 * aligned to the input from the right, as in broadcasting, and each must be 1 or the input's.
 */
function resolveLearnableShape(shape: LearnableShape, input: Size3): { weightShape: number[]; shape: Shape } | string {
  if (shape === 'perChannel') return { weightShape: [input[2]], shape: [1, 1, 1, input[2]] };
  if (shape === 'scalar') return { weightShape: [1], shape: [1, 1, 1, 1] };
  const padded = [...Array(3 - shape.length).fill(1), ...shape] as number[];
  const misfit = padded.findIndex((d, i) => d !== 1 && d !== input[i]);
  if (misfit >= 0) {
    const axis = ['height', 'width', 'channel'][misfit];
    return `shape [${shape.join(', ')}] does not fit the ${input.join('x')} input: its ${axis} extent ${padded[misfit]} is neither 1 nor ${input[misfit]}`;
  }
  return { weightShape: [...shape], shape: [1, padded[0]!, padded[1]!, padded[2]!] };
}
