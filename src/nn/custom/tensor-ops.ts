import * as tf from '@tensorflow/tfjs-core';
import type { Ops } from './evaluate.js';
import type { ElementwiseOp } from './language.js';

/** Layer expressions as tfjs ops, for training and prediction. */

type Op = (...args: tf.Tensor[]) => tf.Tensor;

/**
 * An op whose value is piecewise constant (a comparison, logic). Its gradient is zero, but tfjs
 * registers no gradient for these kernels and would refuse to differentiate through them.
 */
function piecewiseConstant(op: Op): Op {
  const wrapped = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const inputs = args as tf.Tensor[];
    save(inputs);
    return { value: op(...inputs), gradFunc: (_dy: tf.Tensor, saved: tf.Tensor[]) => saved.map((t) => tf.zerosLike(t)) };
  });
  return wrapped as unknown as Op;
}

const indicator = (compare: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): Op => piecewiseConstant((a, b) => tf.cast(compare(a!, b!), 'float32'));
/** Non-zero means true, as in C and MATLAB. */
const truthy = piecewiseConstant((a) => tf.notEqual(a!, 0));

const ops: Record<ElementwiseOp, Op> = {
  add: (a, b) => tf.add(a!, b!),
  sub: (a, b) => tf.sub(a!, b!),
  mul: (a, b) => tf.mul(a!, b!),
  div: (a, b) => tf.div(a!, b!),
  pow: (a, b) => tf.pow(a!, b!),
  neg: (a) => tf.neg(a!),
  lt: indicator(tf.less),
  le: indicator(tf.lessEqual),
  gt: indicator(tf.greater),
  ge: indicator(tf.greaterEqual),
  eq: indicator(tf.equal),
  ne: indicator(tf.notEqual),
  and: indicator((a, b) => tf.logicalAnd(tf.notEqual(a, 0), tf.notEqual(b, 0))),
  or: indicator((a, b) => tf.logicalOr(tf.notEqual(a, 0), tf.notEqual(b, 0))),
  not: piecewiseConstant((a) => tf.cast(tf.equal(a!, 0), 'float32')),
  where: (c, a, b) => tf.where(truthy(c!), a!, b!),
  exp: (a) => tf.exp(a!),
  log: (a) => tf.log(a!),
  log1p: (a) => tf.log1p(a!),
  sqrt: (a) => tf.sqrt(a!),
  abs: (a) => tf.abs(a!),
  sign: (a) => tf.sign(a!),
  min: (a, b) => tf.minimum(a!, b!),
  max: (a, b) => tf.maximum(a!, b!),
  tanh: (a) => tf.tanh(a!),
  sigmoid: (a) => tf.sigmoid(a!),
  softplus: (a) => tf.softplus(a!),
  relu: (a) => tf.relu(a!),
  clip: (v, lo, hi) => tf.minimum(tf.maximum(v!, lo!), hi!),
};

/**
 * The wasm backend broadcasts quickly in add, sub, mul and div (XNNPACK) and where one operand is
 * a rank-0 scalar, but its other binary kernels and where fall back to a per-element path when
 * shapes differ, 10 to 20 times slower (130 ms instead of 10 ms for min(x, alpha) on 64x24x24x20).
 * So numbers are rank-0 scalars, and the other operands are broadcast with a fast add of zeros.
 */
const broadcastsFast = new Set<ElementwiseOp>(['add', 'sub', 'mul', 'div']);

function broadcastOperands(op: ElementwiseOp, args: tf.Tensor[]): tf.Tensor[] {
  if (broadcastsFast.has(op)) return args;
  const shape = args.reduce<number[]>((broadcast, a) => tf.broadcast_util.assertAndGetBroadcastShape(broadcast, a.shape), []);
  const scalarFastPath = op !== 'where';
  return args.map((a) => (a.shape.join() === shape.join() || (a.rank === 0 && scalarFastPath) ? a : tf.add(a, tf.zeros(shape))));
}

export const tensorOps: Ops<tf.Tensor> = {
  constant: (value) => tf.scalar(value),
  apply: (op, args) => ops[op](...broadcastOperands(op, args)),
  reduce: (op, value, axes) => {
    const value4 = value.rank === 0 ? tf.reshape(value, [1, 1, 1, 1]) : value;
    return op === 'sum' ? tf.sum(value4, [...axes], true) : tf.mean(value4, [...axes], true);
  },
};
