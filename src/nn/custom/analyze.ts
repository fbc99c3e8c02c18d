import type { Size3 } from '../spec.js';
import { expressionError, type ExpressionError } from './errors.js';
import type { Expr } from './evaluate.js';
import { axisWordList, binaryOps, functions, parseAxes, usage, type ElementwiseOp } from './language.js';
import { broadcastShapes, reduceShape, unitShape, type Shape } from './shape.js';
import type { Node } from './syntax.js';

/** The names an expression may use, with their shapes, in the order they are listed to a user. */
export interface Scope {
  names: ReadonlyMap<string, Shape>;
  /** The layer's input size, which sums over broadcast axes need. */
  input: Size3;
}

export type Analyzed = { ok: true; expr: Expr } | { ok: false; errors: ExpressionError[] };

/**
 * Checks a syntax tree against the names in scope (every name known, every function called with
 * the right arguments, reduction axes spelled right) and turns it into an expression with every
 * node's shape. It reports every mistake it finds, not just the first.
 */
export function analyze(tree: Node, scope: Scope): Analyzed {
  const errors: ExpressionError[] = [];
  const known = () => [...scope.names.keys()].join(', ');

  const apply = (op: ElementwiseOp, args: (Expr | null)[]): Expr | null =>
    args.every((a): a is Expr => a !== null) ? { kind: 'apply', op, args, shape: broadcastShapes(args.map((a) => a.shape)) } : null;

  const walk = (node: Node): Expr | null => {
    switch (node.kind) {
      case 'number':
        return { kind: 'constant', value: node.value, shape: unitShape };
      case 'string':
        errors.push(expressionError('syntax', `a string is only allowed as the axes of sum or mean, not at column ${node.column}`, node.column));
        return null;
      case 'name': {
        const shape = scope.names.get(node.name);
        if (shape) return { kind: 'input', name: node.name, shape };
        const fn = functions.get(node.name);
        const message = fn
          ? `'${node.name}' at column ${node.column} is a function: call it as ${usage(node.name, fn)}`
          : `unknown name '${node.name}' at column ${node.column} (known: ${known()})`;
        errors.push(expressionError('name', message, node.column));
        return null;
      }
      case 'unary':
        return apply(node.op === '-' ? 'neg' : 'not', [walk(node.operand)]);
      case 'binary':
        return apply(binaryOps[node.op], [walk(node.left), walk(node.right)]);
      case 'conditional':
        return apply('where', [walk(node.test), walk(node.then), walk(node.otherwise)]);
      case 'call':
        return call(node);
    }
  };

  const call = (node: Node & { kind: 'call' }): Expr | null => {
    const fn = functions.get(node.name);
    if (!fn) {
      const message = scope.names.has(node.name)
        ? `'${node.name}' at column ${node.column} is not a function`
        : `unknown function '${node.name}' at column ${node.column} (known: ${[...functions.keys()].join(', ')})`;
      errors.push(expressionError('name', message, node.column));
      node.args.forEach(walk);
      return null;
    }
    if (node.args.length !== fn.params.length) {
      const n = fn.params.length;
      const message = `${usage(node.name, fn)} takes ${n} argument${n === 1 ? '' : 's'}, not ${node.args.length}, at column ${node.column}`;
      errors.push(expressionError('arity', message, node.column));
      node.args.forEach((a) => a.kind !== 'string' && walk(a));
      return null;
    }
    if ('op' in fn) return apply(fn.op, node.args.map(walk));
    const [valueNode, axesNode] = node.args as [Node, Node];
    const arg = walk(valueNode);
    if (axesNode.kind !== 'string') {
      const message = `the axes of ${node.name} at column ${axesNode.column} must be a string such as "spatial" (known: ${axisWordList.join(', ')}; join them with +)`;
      errors.push(expressionError('syntax', message, axesNode.column));
      return null;
    }
    const axes = parseAxes(axesNode.value);
    if (!axes.ok) {
      const message = `unknown axes '${axes.word}' at column ${axesNode.column} (known: ${axisWordList.join(', ')}; join them with +)`;
      errors.push(expressionError('name', message, axesNode.column));
      return null;
    }
    if (!arg) return null;
    const repeated = fn.reduce === 'sum' ? axes.axes.filter((axis) => arg.shape[axis] === 1) : [];
    const repeats = {
      fixed: repeated.reduce<number>((n, axis) => (axis === 0 ? n : n * scope.input[axis - 1]!), 1),
      perObservation: repeated.includes(0),
    };
    return { kind: 'reduce', op: fn.reduce, axes: axes.axes, arg, repeats, shape: reduceShape(arg.shape, axes.axes) };
  };

  const expr = walk(tree);
  return expr && errors.length === 0 ? { ok: true, expr } : { ok: false, errors };
}
