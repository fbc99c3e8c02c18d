import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { hasKernel } from '../../../src/nn/kernels/index.js';
import { BatchNormTraining, ChannelSums, Conv2DWithBias, EluWithAlpha, MatMulAtB, SgdmUpdate } from '../../../src/nn/kernels/names.js';
import { batchNormTraining } from '../../../src/nn/ops/batch-norm.js';
import { conv2dWithBias } from '../../../src/nn/ops/conv.js';
import { eluWithAlpha } from '../../../src/nn/ops/elu.js';
import { matMulTrainable } from '../../../src/nn/ops/matmul.js';
import { Solver } from '../../../src/nn/optimizers.js';
import { options } from '../../helpers/data.js';
import { onCpu, randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';
import { sizeOf, valueAndGradients, withoutFusedKernels, type ValueAndGradients } from '../../helpers/gradients.js';
import { compileWasmWithOptimizingTierOnly } from '../../helpers/wasm-tier.js';

beforeAll(async () => {
  await useTestBackend();
  compileWasmWithOptimizingTierOnly();
});

/** The op on wasm (fused kernels) and on cpu (plain tfjs ops, the reference). */
async function bothBackends(f: (...inputs: tf.Tensor[]) => tf.Tensor, shapes: number[][], seed: number, values: (Float32Array | undefined)[] = []) {
  const wasm = valueAndGradients(f, shapes, seed, values);
  const cpu = await onCpu(() => valueAndGradients(f, shapes, seed, values));
  return { wasm, cpu };
}

function expectClose(wasm: ValueAndGradients, cpu: ValueAndGradients, atol: number, rtol: number): void {
  expect(worstMismatch(wasm.value, cpu.value, atol, rtol)).toBeLessThanOrEqual(1);
  wasm.grads.forEach((g, i) => expect(worstMismatch(g, cpu.grads[i]!, atol, rtol), `gradient ${i}`).toBeLessThanOrEqual(1));
}

describe('fused wasm kernels', () => {
  it('are registered for wasm and not for cpu', async () => {
    for (const name of [EluWithAlpha, BatchNormTraining, ChannelSums, MatMulAtB, Conv2DWithBias, SgdmUpdate]) {
      expect(hasKernel(name)).toBe(true);
      expect(await onCpu(() => hasKernel(name))).toBe(false);
    }
  });

  // Channel counts around the SIMD width (4) exercise the vector loops and their tails.
  const eluCases: { x: number[]; alpha: number[] }[] = [
    { x: [3, 5, 7, 6], alpha: [6] },
    { x: [2, 9, 4], alpha: [4] },
    { x: [7, 3], alpha: [3] },
    { x: [4, 24, 24, 20], alpha: [20] },
    { x: [5, 13], alpha: [1] },
    { x: [1, 1, 1, 1], alpha: [1] },
    { x: [2, 3, 3, 9], alpha: [1] },
  ];
  for (const [i, c] of eluCases.entries()) {
    it(`ELU with alpha: x ${c.x.join('x')}, alpha [${c.alpha}] matches the cpu backend`, async () => {
      // Values from -90 (exp underflows) through 0 exactly to 1e4, and alpha in [0, 1).
      const x = randomArray(sizeOf(c.x), 10 + i, -4, 3);
      x[0] = 0;
      if (x.length > 2) [x[1], x[2]] = [1e4, -90];
      const alpha = randomArray(sizeOf(c.alpha), 20 + i, 0, 1);
      const { wasm, cpu } = await bothBackends(eluWithAlpha, [c.x, c.alpha], 30 + i, [x, alpha]);
      // exp differs from tfjs's by an ulp or two (a polynomial against the C library); dAlpha sums
      // up to 11,520 such terms of O(1) per channel, in a different order.
      expectClose(wasm, cpu, 1e-5, 1e-5);
      expect(wasm.value.every(Number.isFinite) && wasm.grads.every((g) => g.every(Number.isFinite))).toBe(true);
    });
  }

  const bnCases = [[4, 5, 6, 3], [2, 3, 3, 20], [17, 12], [9, 1], [8, 24, 24, 20], [3, 7, 5, 6]];
  for (const [i, shape] of bnCases.entries()) {
    it(`batch normalisation in training mode: x ${shape.join('x')} matches the cpu backend`, async () => {
      const channels = shape.at(-1)!;
      const f = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => batchNormTraining(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, 1e-5).y;
      // The batch statistics, which feed the moving averages.
      const statistics = (x: Float32Array) =>
        tf.tidy(() => {
          const { mean, variance } = batchNormTraining(tf.tensor(x, shape), tf.ones([channels]), tf.zeros([channels]), 1e-5);
          return [...mean.dataSync(), ...variance.dataSync()];
        });
      // An offset input (mean 3) checks that the variance does not lose precision to the mean.
      const x = randomArray(sizeOf(shape), 40 + i, 2, 4);
      const { wasm, cpu } = await bothBackends(f, [shape, [channels], [channels]], 50 + i, [x]);
      expect(worstMismatch(statistics(x), await onCpu(() => statistics(x)), 1e-6, 1e-5)).toBeLessThanOrEqual(1);
      // Normalised values are O(1); the gradient through the batch statistics cancels terms of
      // O(1) summed over up to 11,520 rows, in float32 on cpu and double on wasm.
      expectClose(wasm, cpu, 2e-4, 1e-4);
    });
  }

  const matMulCases = [
    [[7, 13], [13, 5]],
    [[32, 1152], [1152, 10]],
    [[3, 8], [8, 1]],
    [[1, 17], [17, 6]],
  ];
  for (const [i, [a, b]] of matMulCases.entries()) {
    it(`matMul for a dense layer: ${a!.join('x')} times ${b!.join('x')} has tf.matMul's value and gradients`, async () => {
      const f = (x: tf.Tensor, w: tf.Tensor) => matMulTrainable(x as tf.Tensor2D, w as tf.Tensor2D);
      const { wasm, cpu } = await bothBackends(f, [a!, b!], 70 + i);
      // Sums of up to 1152 products of O(1) values.
      expectClose(wasm, cpu, 1e-4, 1e-5);
    });
  }

  // The bias gradient is the per-channel sum kernel (channel_sums.c): 20, 5, 3 and 4 channels.
  const convCases: { x: number[]; filter: number[]; strides: [number, number]; padding: 'valid' | 'same'; dilation: [number, number] }[] = [
    { x: [4, 28, 28, 1], filter: [5, 5, 1, 20], strides: [1, 1], padding: 'valid', dilation: [1, 1] },
    { x: [3, 9, 7, 3], filter: [3, 3, 3, 5], strides: [2, 2], padding: 'same', dilation: [1, 1] },
    { x: [2, 11, 13, 4], filter: [3, 2, 4, 3], strides: [2, 3], padding: 'valid', dilation: [1, 1] },
    { x: [2, 12, 11, 3], filter: [3, 3, 3, 4], strides: [1, 1], padding: 'same', dilation: [2, 2] },
  ];
  for (const [i, c] of convCases.entries()) {
    it(`convolution with bias: x ${c.x.join('x')}, filter ${c.filter.join('x')}, strides ${c.strides}, ${c.padding}, dilation ${c.dilation} matches the cpu backend`, async () => {
      const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => conv2dWithBias(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, c.strides, c.padding, c.dilation);
      const { wasm, cpu } = await bothBackends(f, [c.x, c.filter, [c.filter[3]!]], 80 + i);
      // Filter gradients sum up to 3,000 products of O(1) values.
      expectClose(wasm, cpu, 1e-3, 1e-4);
    });
  }

  it('sgdm update gives the same bits as the tfjs ops, with and without L2, over three steps', async () => {
    const steps = () => {
      const solver = new Solver(options({ momentum: 0.9, l2Regularization: 1e-4 }));
      const learnables = [7, 20].map((n, i) => ({ variable: tf.variable(tf.tensor1d(randomArray(n, 90 + i))), l2Factor: i, learnRateFactor: 1 }));
      for (let step = 0; step < 3; step++) {
        tf.tidy(() => {
          const grads = new Map(learnables.map(({ variable }, i) => [variable, tf.tensor1d(randomArray(variable.size, 100 + 10 * step + i))]));
          solver.step(learnables, grads, 0.01);
        });
      }
      solver.dispose();
      const values = learnables.map(({ variable }) => Array.from(variable.dataSync()));
      learnables.forEach(({ variable }) => variable.dispose());
      return values;
    };
    const fused = steps();
    expect(await withoutFusedKernels(async () => steps())).toEqual(fused);
  });

  it('Identity shares the data instead of copying it, and the copy outlives the original', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
  });
});
