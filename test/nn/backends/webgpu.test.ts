import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { firstLine } from '../../../src/nn/backends/entry.js';
import { initBackend, type BackendInfo } from '../../../src/nn/backend.js';
import { eluWithAlpha } from '../../../src/nn/ops/elu.js';
import { train } from '../../../src/nn/train.js';
import { onCpu, randomArray, worstMismatch } from '../../helpers/backend.js';
import { digits, everyLayerNetworkJson, network, options, seedNetworkJson } from '../../helpers/data.js';

/**
 * The webgpu backend against the cpu reference. In CI it runs on Mesa's lavapipe (llvmpipe), a
 * Vulkan driver on the CPU that `npm test`'s pretest step installs; where Dawn finds no adapter
 * the suite skips and says why.
 */
const started: { info: BackendInfo } | { skip: string } = await initBackend('webgpu').then(
  (info) => ({ info }),
  (err: unknown) => ({ skip: firstLine(err) }),
);
if ('skip' in started) console.warn(`webgpu tests skipped: ${started.skip}`);

/** The tensors' values, read asynchronously, and the tensors disposed. */
async function readAll(tensors: tf.Tensor[]): Promise<Float32Array[]> {
  const values = await Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(tensors);
  return values;
}

describe.skipIf('skip' in started)('the webgpu backend', () => {
  it('reports the adapter it trains on', () => {
    const { info } = started as { info: BackendInfo };
    expect(info.name).toBe('webgpu');
    expect(info.adapter?.description).toBeTruthy();
    expect(info.reason).toContain(info.adapter!.description);
  });

  it.each([
    ['per channel', [2, 5, 6, 3], [3]],
    ['shared', [4, 7], [1]],
  ])('the fused ELU kernels (alpha %s) match the cpu backend: z, dX and dAlpha', async (_, shape, alphaShape) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const xs = randomArray(size, 1, -3, 3);
    const alphas = randomArray(alphaShape[0]!, 2, 0.2, 2);
    const weights = randomArray(size, 3);
    const compute = () =>
      readAll(
        tf.tidy(() => {
          const x = tf.tensor(xs, shape);
          const alpha = tf.tensor(alphas, alphaShape);
          const w = tf.tensor(weights, shape);
          const [dx, dalpha] = tf.grads((x: tf.Tensor, a: tf.Tensor) => tf.sum(tf.mul(eluWithAlpha(x, a), w)))([x, alpha]);
          return [eluWithAlpha(x, alpha), dx!, dalpha!];
        }),
      );
    const gpu = await compute();
    const cpu = await onCpu(compute);
    gpu.forEach((values, k) => expect(worstMismatch(values, cpu[k]!, 1e-6, 1e-5), `output ${k}`).toBeLessThanOrEqual(1));
  });

  it.each([
    ['every layer type, sgdm with L2 and a gradient threshold', everyLayerNetworkJson, { solver: 'sgdm', l2Regularization: 0.001, gradientThreshold: 1 }, 1e-4],
    // The conv bias before batch norm has a gradient of pure rounding noise (batch norm cancels
    // it), which adam and rmsprop scale up to full steps of either sign: up to about 3x the
    // learning rate (0.001) per step on either backend, so their weights get 1e-2 absolute.
    ['the seed network (learnable per-channel ELU, batch norm), adam with a global norm threshold', seedNetworkJson, { solver: 'adam', gradientThreshold: 5, gradientThresholdMethod: 'global-l2norm' }, 1e-2],
    ['the seed network, rmsprop', seedNetworkJson, { solver: 'rmsprop' }, 1e-2],
  ] as const)('trains %s to the cpu backend\'s losses and weights', async (_, json, overrides, weightAtol) => {
    const data = await digits(32);
    const run = async () => {
      const losses: number[] = [];
      const result = await train(network(json), { source: data.source }, options({ miniBatchSize: 16, maxEpochs: 1, seed: 3, ...overrides }), {
        onProgress: (r) => void losses.push(r.miniBatchLoss),
      });
      // webgpu reads only asynchronously (dataSync needs a browser's OffscreenCanvas).
      const weights = await Promise.all(result.classifier.model.weights.map(async (w) => (await w.read().data()) as Float32Array));
      result.classifier.dispose();
      return { losses, weights };
    };
    const gpu = await run();
    const cpu = await onCpu(run);
    expect(gpu.losses).toHaveLength(2);
    // Same formulas in float32, different summation orders (and the GPU's exp): about 1e-6
    // relative per value, carried through two steps (seen: losses within 5e-7, sgdm's weights
    // within 3e-6). The second loss follows the first update of every weight; a wrong kernel
    // moves it by far more.
    expect(worstMismatch(gpu.losses, cpu.losses, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    gpu.weights.forEach((w, k) => expect(worstMismatch(w, cpu.weights[k]!, weightAtol, 1e-3), `weight ${k}`).toBeLessThanOrEqual(1));
  });
});
