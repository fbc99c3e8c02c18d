import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../../src/nn/custom/analyze.js';
import { evaluate } from '../../../src/nn/custom/evaluate.js';
import { float64Ops, type Array64 } from '../../../src/nn/custom/float64.js';
import { parseExpression } from '../../../src/nn/custom/syntax.js';
import { tensorOps } from '../../../src/nn/custom/tensor-ops.js';
import { randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';

beforeAll(useTestBackend);

/** x is [N=2, 3, 4, 5]; w is one value per channel, [1, 1, 1, 5]. */
const input: [number, number, number] = [3, 4, 5];
const names = new Map([
  ['x', ['N', 3, 4, 5] as const],
  ['w', [1, 1, 1, 5] as const],
]);
const xData = randomArray(2 * 60, 21, -2, 2);
const wData = randomArray(5, 22, 0.1, 1);

function compile(source: string) {
  const parsed = parseExpression(source);
  if (!parsed.ok) throw new Error(parsed.error.message);
  const analyzed = analyze(parsed.tree, { names, input });
  if (!analyzed.ok) throw new Error(analyzed.errors.map((e) => e.message).join('; '));
  return analyzed.expr;
}

describe('the tfjs and float64 evaluators', () => {
  it.each([
    'x + w * 2 - x / (w + 1)', '-x ^ 2', 'abs(x) ^ w', 'pow(abs(x), 1.5)',
    'exp(x)', 'log(abs(x) + 0.5)', 'log1p(abs(x))', 'sqrt(abs(x))', 'abs(x)', 'sign(x)', 'tanh(x)', 'sigmoid(x)', 'softplus(x)', 'relu(x)',
    'min(x, w)', 'max(x, 0)', 'clip(x, -0.5, w)',
    'x > w', 'x >= 0', 'x < w', 'x <= 0', 'x == x', 'x != w', '(x > 0) && (w > 0.5)', '(x > 0) || (w > 0.5)', '!(x > 0)',
    'x > 0 ? x : w * (exp(min(x, 0)) - 1)', '1 ? w : x', 'x > 0 ? 1 : 0',
    'sum(x, "spatial")', 'mean(x, "channel")', 'sum(x * w, "spatial+batch")', 'mean(x, "all")', 'sum(x, "batch+height")',
    'sum(w, "spatial+batch") + 0 * x', 'sum(3, "all") + x',
  ])('agree on %s (shape and values, to float32 precision)', (source) => {
    const expr = compile(source);
    const x64: Array64 = { shape: [2, 3, 4, 5], data: Float64Array.from(xData) };
    const w64: Array64 = { shape: [1, 1, 1, 5], data: Float64Array.from(wData) };
    const reference = evaluate(expr, new Map([['x', x64], ['w', w64]]), float64Ops, 2);
    const ours = tf.tidy(() => {
      const value = evaluate(expr, new Map([['x', tf.tensor4d(xData, [2, 3, 4, 5])], ['w', tf.tensor4d(wData, [1, 1, 1, 5])]]), tensorOps, 2);
      return { shape: value.shape, data: value.dataSync() };
    });
    const expected = expr.shape.map((e) => (e === 'N' ? 2 : e));
    expect(reference.shape).toEqual(expected);
    expect(ours.shape.length === 0 ? [1, 1, 1, 1] : ours.shape).toEqual(expected);
    expect(worstMismatch(ours.data, reference.data, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('counts a sum over an axis a value is constant along once per position: sum(w, "spatial+batch") is 2*3*4*w', () => {
    const reference = evaluate(compile('sum(w, "spatial+batch")'), new Map([['w', { shape: [1, 1, 1, 5], data: Float64Array.from(wData) } as Array64]]), float64Ops, 2);
    expect(Array.from(reference.data)).toEqual(Array.from(wData, (v) => 24 * v));
  });
});
