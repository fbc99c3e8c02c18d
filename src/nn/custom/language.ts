import type { BinaryOperator } from './syntax.js';

/**
 * The vocabulary of layer expressions: the elementwise operations every evaluator implements, the
 * functions a user may call, and the spelling of the axes sum and mean reduce over.
 */
const elementwiseOps = [
  'add', 'sub', 'mul', 'div', 'pow', 'neg',
  'lt', 'le', 'gt', 'ge', 'eq', 'ne', 'and', 'or', 'not', 'where',
  'exp', 'log', 'log1p', 'sqrt', 'abs', 'sign', 'min', 'max', 'tanh', 'sigmoid', 'softplus', 'relu', 'clip',
] as const;
export type ElementwiseOp = (typeof elementwiseOps)[number];
export type ReduceOp = 'sum' | 'mean';

export const binaryOps: Record<BinaryOperator, ElementwiseOp> = {
  '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '^': 'pow',
  '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', '==': 'eq', '!=': 'ne', '&&': 'and', '||': 'or',
};

/** A callable function: its parameter names (for messages) and what it does. */
export type FunctionInfo = { params: readonly string[] } & ({ op: ElementwiseOp } | { reduce: ReduceOp });

const unary = (op: ElementwiseOp): FunctionInfo => ({ params: ['v'], op });

/** A Map, not an object: a user's name ("constructor", "__proto__") must find nothing it did not define. */
export const functions: ReadonlyMap<string, FunctionInfo> = new Map<string, FunctionInfo>([
  ['exp', unary('exp')],
  ['log', unary('log')],
  ['log1p', unary('log1p')],
  ['sqrt', unary('sqrt')],
  ['abs', unary('abs')],
  ['sign', unary('sign')],
  ['tanh', unary('tanh')],
  ['sigmoid', unary('sigmoid')],
  ['softplus', unary('softplus')],
  ['relu', unary('relu')],
  ['min', { params: ['a', 'b'], op: 'min' }],
  ['max', { params: ['a', 'b'], op: 'max' }],
  ['pow', { params: ['a', 'b'], op: 'pow' }],
  ['clip', { params: ['v', 'lo', 'hi'], op: 'clip' }],
  ['sum', { params: ['v', '"axes"'], reduce: 'sum' }],
  ['mean', { params: ['v', '"axes"'], reduce: 'mean' }],
]);

export function usage(name: string, info: FunctionInfo): string {
  return `${name}(${info.params.join(', ')})`;
}

/** Axes of a value: observation (batch), height, width, channel; channel is the last. */
export type Axis = 0 | 1 | 2 | 3;

/**
 * The axes of sum and mean are a string of words joined by "+": batch, height, width, channel,
 * spatial (height+width) and all. The seed's dAlpha sums over "spatial+batch".
 */
const axisWords: ReadonlyMap<string, readonly Axis[]> = new Map<string, readonly Axis[]>([
  ['batch', [0]],
  ['height', [1]],
  ['width', [2]],
  ['channel', [3]],
  ['spatial', [1, 2]],
  ['all', [0, 1, 2, 3]],
]);
export const axisWordList = [...axisWords.keys()];

/** The axes a spelling names, in order, or the first word that is not one. */
export function parseAxes(text: string): { ok: true; axes: Axis[] } | { ok: false; word: string } {
  const axes = new Set<Axis>();
  for (const raw of text.split('+')) {
    const word = raw.trim();
    const named = axisWords.get(word);
    if (!named) return { ok: false, word };
    for (const a of named) axes.add(a);
  }
  return { ok: true, axes: [...axes].sort() };
}

/** The shortest spelling of a set of axes, e.g. [0, 1, 2] is "spatial+batch". */
export function spellAxes(axes: readonly Axis[]): string {
  const has = (a: Axis) => axes.includes(a);
  if (has(0) && has(1) && has(2) && has(3)) return 'all';
  const words: string[] = [];
  if (has(1) && has(2)) words.push('spatial');
  else if (has(1)) words.push('height');
  else if (has(2)) words.push('width');
  if (has(3)) words.push('channel');
  if (has(0)) words.push('batch');
  return words.join('+');
}
