import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileLayer } from '../../../src/nn/custom/compile.js';
import { fusedLayerFunction } from '../../../src/nn/custom/fused.js';
import { programFor } from '../../../src/nn/custom/program.js';
import { definitionFromJson } from '../../../src/nn/custom/validate.js';
import { Expression } from '../../../src/nn/kernels/names.js';
import type { Size3 } from '../../../src/nn/spec.js';
import { onCpu, randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';
import { compileWasmWithOptimizingTierOnly } from '../../helpers/wasm-tier.js';

beforeAll(async () => {
  await useTestBackend();
  compileWasmWithOptimizingTierOnly();
});

const layers: { name: string; json: unknown; fused: boolean }[] = [
  {
    name: 'the seed ELU, alpha per channel',
    fused: true,
    json: {
      learnables: { alpha: { shape: 'perChannel' } },
      forward: 'x > 0 ? x : alpha * (exp(min(x, 0)) - 1)',
      backward: { x: 'dz * ((x > 0) + (alpha + z) * (x <= 0))', alpha: 'sum(dz * (exp(min(x, 0)) - 1), "spatial+batch")' },
    },
  },
  {
    name: 'a leaky ReLU with one learnable slope',
    fused: true,
    json: {
      learnables: { a: { shape: 'scalar', initializer: 0.2 } },
      forward: 'x > 0 ? x : a * x',
      backward: { x: 'dz * ((x > 0) + a * (x <= 0))', a: 'sum(dz * min(x, 0), "all")' },
    },
  },
  {
    name: 'every operation the fused kernels implement',
    fused: true,
    json: {
      learnables: { s: { shape: 'perChannel', initializer: 'ones' }, t: { shape: 'scalar', initializer: 0.5 } },
      forward: 's * clip(x, -2, 2) + t * sqrt(abs(x) + 1) - sign(x) / (1 + exp(-abs(x))) + max(relu(x), t) * ((x != 0) && !(x == 1) || x < -3) + (x >= 2) - (x <= -1)',
      backward: {
        x: 'dz * (s * (x > -2) * (x < 2) + t * sign(x) / (2 * sqrt(abs(x) + 1)) + (x > t))',
        s: 'sum(dz * clip(x, -2, 2), "spatial+batch")',
        t: 'sum(dz * (sqrt(abs(x) + 1) + (t >= relu(x))), "all")',
      },
    },
  },
  {
    name: 'exp over its whole range, subexpressions written twice',
    fused: true,
    json: {
      learnables: { s: { shape: 'perChannel' } },
      // x / 2 reaches 45 and x - 80 both 10 and -170 (exp below the smallest normal float).
      forward: 's * exp(x / 2) + exp(x - 80) + exp(x / 2)',
      backward: { x: 'dz * ((s + 1) * exp(x / 2) / 2 + exp(x - 80))', s: 'sum(dz * exp(x / 2), "spatial+batch")' },
    },
  },
  {
    name: 'a backward that is dz itself (an output that is an input, copied out)',
    fused: true,
    json: {
      learnables: { b: { shape: 'scalar' } },
      forward: 'x + b',
      backward: { x: 'dz', b: 'sum(dz, "all")' },
    },
  },
  {
    name: 'a layer outside the fused kernels (tanh), run as plain tfjs ops',
    fused: false,
    json: {
      learnables: { g: { shape: 'perChannel' } },
      forward: 'g * tanh(x)',
      backward: { x: 'dz * g * (1 - tanh(x) * tanh(x))', g: 'sum(dz * tanh(x), "spatial+batch")' },
    },
  },
];

const sizes: { n: number; size: Size3 }[] = [
  { n: 3, size: [7, 5, 20] }, // the seed's channel count; rows not a multiple of the block
  { n: 1, size: [9, 11, 7] }, // batch 1, odd channels
  { n: 2, size: [4, 3, 300] }, // more channels than a block holds
  { n: 5, size: [3, 7, 2] }, // an even channel count that is not a multiple of 4
  { n: 1, size: [1, 1, 3] }, // less than one vector
];

describe('custom layers compiled into fused expression kernels (expression.c)', () => {
  for (const layer of layers) {
    for (const { n, size } of sizes) {
      it(`${layer.name}, input ${n}x${size.join('x')}: the plain tfjs path's z, dx and learnable gradients`, async () => {
        const programmed = programFor(definitionFromJson(layer.json, 'test layer'), size);
        if (!programmed.ok) throw new Error(JSON.stringify(programmed.errors));
        const program = programmed.program;
        const shape = [n, ...size];
        const total = shape.reduce((a, b) => a * b, 1);
        // Exact zeros, ones and large magnitudes among ordinary values.
        const x = randomArray(total, 11, -4, 4).map((v, i) => (i % 13 === 0 ? 0 : i % 19 === 0 ? 1 : i % 23 === 0 ? 90 * Math.sign(v) : v));
        const dz = randomArray(total, 12);
        const weights = program.learnables.map((l, k) => randomArray(l.weightShape.reduce((a, b) => a * b, 1), 13 + k, 0.1, 1));
        const run = (f: typeof compileLayer) => () =>
          tf.tidy(() => {
            const xt = tf.tensor(x, shape);
            const ws = weights.map((w, k) => tf.tensor(w, program.learnables[k]!.weightShape));
            const layerFn = f(program);
            const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(layerFn(args[0]!, args.slice(1)), tf.tensor(dz, shape))))([xt, ...ws]);
            return [layerFn(xt, ws), ...grads].map((t) => t.dataSync());
          });
        const kernelRuns = (await tf.profile(run(fusedLayerFunction))).kernels.filter((k) => k.name === Expression).length;
        const fused = run(fusedLayerFunction)();
        const plain = await onCpu(run(compileLayer));
        expect(kernelRuns > 0).toBe(layer.fused);
        for (const [k, name] of ['z', 'dx', ...program.learnables.map((l) => `d${l.name}`)].entries()) {
          // Sums of up to ~10^4 float32 terms, in another order.
          expect(worstMismatch(fused[k]!, plain[k]!, 1e-4, 1e-4), name).toBeLessThanOrEqual(1);
        }
      });
    }
  }
});
