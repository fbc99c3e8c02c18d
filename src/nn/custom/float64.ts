import type { Ops } from './evaluate.js';
import type { Axis, ElementwiseOp } from './language.js';

/**
 * Layer expressions evaluated in float64 in plain JavaScript. tfjs has no float64, so this is
 * what the layer check differentiates numerically to judge the float32 gradients tfjs computes.
 */
export interface Array64 {
  /** [observations, height, width, channels] */
  shape: [number, number, number, number];
  data: Float64Array;
}

const truth = (v: boolean) => (v ? 1 : 0);

/** Each operation on numbers, with the meaning of the tfjs op tensor-ops.ts uses for it. */
const scalar: Record<ElementwiseOp, (a: number, b: number, c: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  neg: (a) => -a,
  lt: (a, b) => truth(a < b),
  le: (a, b) => truth(a <= b),
  gt: (a, b) => truth(a > b),
  ge: (a, b) => truth(a >= b),
  eq: (a, b) => truth(a === b),
  ne: (a, b) => truth(a !== b),
  and: (a, b) => truth(a !== 0 && b !== 0),
  or: (a, b) => truth(a !== 0 || b !== 0),
  not: (a) => truth(a === 0),
  where: (c, a, b) => (c !== 0 ? a : b),
  exp: (a) => Math.exp(a),
  log: (a) => Math.log(a),
  log1p: (a) => Math.log1p(a),
  sqrt: (a) => Math.sqrt(a),
  abs: (a) => Math.abs(a),
  sign: (a) => Math.sign(a),
  min: (a, b) => Math.min(a, b),
  max: (a, b) => Math.max(a, b),
  tanh: (a) => Math.tanh(a),
  sigmoid: (a) => 1 / (1 + Math.exp(-a)),
  softplus: (a) => Math.max(a, 0) + Math.log1p(Math.exp(-Math.abs(a))),
  relu: (a) => Math.max(a, 0),
  clip: (v, lo, hi) => Math.min(Math.max(v, lo), hi),
};

/** Strides of `shape` read as if broadcast to `to`: 0 along axes where it has extent 1. */
function broadcastStrides(shape: Array64['shape'], to: Array64['shape']): [number, number, number, number] {
  const strides: [number, number, number, number] = [0, 0, 0, 0];
  let step = 1;
  for (let axis = 3; axis >= 0; axis--) {
    strides[axis] = shape[axis] === 1 && to[axis] !== 1 ? 0 : step;
    step *= shape[axis]!;
  }
  return strides;
}

const zero: Array64 = { shape: [1, 1, 1, 1], data: new Float64Array(1) };

export const float64Ops: Ops<Array64> = {
  constant: (value) => ({ shape: [1, 1, 1, 1], data: Float64Array.of(value) }),

  apply(op, args) {
    const f = scalar[op];
    const shape = [0, 1, 2, 3].map((axis) => Math.max(...args.map((a) => a.shape[axis]!))) as Array64['shape'];
    const [a = zero, b = zero, c = zero] = args;
    const [sa, sb, sc] = [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape), broadcastStrides(c.shape, shape)];
    const out = new Float64Array(shape[0] * shape[1] * shape[2] * shape[3]);
    let i = 0;
    for (let n = 0; n < shape[0]; n++)
      for (let h = 0; h < shape[1]; h++)
        for (let w = 0; w < shape[2]; w++)
          for (let k = 0; k < shape[3]; k++) {
            const ia = n * sa[0] + h * sa[1] + w * sa[2] + k * sa[3];
            const ib = n * sb[0] + h * sb[1] + w * sb[2] + k * sb[3];
            const ic = n * sc[0] + h * sc[1] + w * sc[2] + k * sc[3];
            out[i++] = f(a.data[ia]!, b.data[ib]!, c.data[ic]!);
          }
    return { shape, data: out };
  },

  reduce(op, value, axes) {
    const shape = value.shape.map((extent, axis) => (axes.includes(axis as Axis) ? 1 : extent)) as Array64['shape'];
    const strides = broadcastStrides(shape, value.shape);
    const out = new Float64Array(shape[0] * shape[1] * shape[2] * shape[3]);
    let i = 0;
    for (let n = 0; n < value.shape[0]; n++)
      for (let h = 0; h < value.shape[1]; h++)
        for (let w = 0; w < value.shape[2]; w++)
          for (let k = 0; k < value.shape[3]; k++) {
            out[n * strides[0] + h * strides[1] + w * strides[2] + k * strides[3]]! += value.data[i++]!;
          }
    if (op === 'mean') {
      const count = value.data.length / out.length;
      for (let j = 0; j < out.length; j++) out[j]! /= count;
    }
    return { shape, data: out };
  },
};
