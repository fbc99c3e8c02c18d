import type { Axis, ElementwiseOp, ReduceOp } from './language.js';
import type { Shape } from './shape.js';

/**
 * A checked expression: names resolved, calls turned into operations, reduction axes decoded and
 * every node's shape known. One evaluator walks it for any kind of value: tfjs tensors to train,
 * float64 arrays to check gradients numerically.
 */
export type Expr = { shape: Shape } & (
  | { kind: 'constant'; value: number }
  | { kind: 'input'; name: string }
  | { kind: 'apply'; op: ElementwiseOp; args: Expr[] }
  | {
      kind: 'reduce';
      op: ReduceOp;
      axes: Axis[];
      arg: Expr;
      /**
       * How many times the sum counts each element because `arg` is constant along a reduced axis
       * (a learnable summed over the spatial axes, say): as if it had been broadcast first. A fixed
       * factor for height, width and channel, times the observation count when the batch is one of them.
       */
      repeats: { fixed: number; perObservation: boolean };
    }
);

/**
 * What an evaluator needs of its values: 4-D [observations, height, width, channels], or anything
 * that broadcasts as one (tfjs keeps numbers rank-0).
 */
export interface Ops<T> {
  /** A number, as a value of extent 1 on every axis. */
  constant(value: number): T;
  /** Elementwise with broadcasting; comparisons and logic give 1 or 0, `where` picks by its first argument's being non-zero. */
  apply(op: ElementwiseOp, args: T[]): T;
  /** Sum or mean over the axes, keeping them with extent 1. */
  reduce(op: ReduceOp, value: T, axes: readonly Axis[]): T;
}

/** The value of `expr` with the named inputs bound, for a mini-batch of `observations`. */
export function evaluate<T>(expr: Expr, inputs: ReadonlyMap<string, T>, ops: Ops<T>, observations: number): T {
  const walk = (e: Expr): T => {
    switch (e.kind) {
      case 'constant':
        return ops.constant(e.value);
      case 'input': {
        const value = inputs.get(e.name);
        if (value === undefined) throw new Error(`no value bound to '${e.name}'`);
        return value;
      }
      case 'apply':
        return ops.apply(e.op, e.args.map(walk));
      case 'reduce': {
        const reduced = ops.reduce(e.op, walk(e.arg), e.axes);
        const repeats = e.repeats.fixed * (e.repeats.perObservation ? observations : 1);
        return repeats === 1 ? reduced : ops.apply('mul', [reduced, ops.constant(repeats)]);
      }
    }
  };
  return walk(expr);
}
