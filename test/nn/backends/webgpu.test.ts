import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { firstLine } from '../../../src/nn/backends/entry.js';
import { initBackend, type BackendInfo } from '../../../src/nn/backend.js';
import { BatchNormTraining, BatchNormTrainingGrad, EluWithAlphaGrad, SgdmUpdate } from '../../../src/nn/kernels/names.js';
import { batchNormTraining } from '../../../src/nn/ops/batch-norm.js';
import { eluWithAlpha } from '../../../src/nn/ops/elu.js';
import { train } from '../../../src/nn/train.js';
import { loadConfig } from '../../../src/config.js';
import { trainAndSave } from '../../../src/run/train-and-save.js';
import { requireValidTrainingRequest } from '../../../src/run/training-request.js';
import { ModelStore } from '../../../src/store/models.js';
import { onCpu, randomArray, worstMismatch } from '../../helpers/backend.js';
import { digits, everyLayerNetworkJson, network, options, seedNetworkJson } from '../../helpers/data.js';

const seedCustomNetworkJson = JSON.parse(readFileSync(new URL('../../../examples/seed-custom-elu.json', import.meta.url), 'utf8')) as unknown;

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

  it("stores the adapter with the backend in the model's manifest", async () => {
    const { info } = started as { info: BackendInfo };
    const dir = await mkdtemp(path.join(tmpdir(), 'trainyard-webgpu-'));
    try {
      const data = { id: 'digits', name: 'digits', sizeMode: 'resize' as const, source: (await digits(16, 16)).source };
      const config = loadConfig({});
      const request = await requireValidTrainingRequest({ network: seedNetworkJson, options: { miniBatchSize: 16, maxEpochs: 1 } }, data, config);
      await trainAndSave(config, info, data, request, ModelStore.atFolder(dir));
      const saved = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as { training: { backend: object } };
      expect(saved.training.backend).toEqual({ name: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', device: info.device, reason: info.reason, adapter: info.adapter });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
    [[3, 4, 5, 6], 0.001],
    [[1, 7], 0.01],
  ])('the fused batch norm kernels on x of shape %j match the cpu backend: y, mean, variance, dX, dGamma and dBeta', async (shape, epsilon) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const channels = shape.at(-1)!;
    const xs = randomArray(size, 7, -2, 3);
    const gammas = randomArray(channels, 8, 0.5, 2);
    const betas = randomArray(channels, 9, -1, 1);
    const weights = randomArray(size, 10);
    const compute = () =>
      readAll(
        tf.tidy(() => {
          const x = tf.tensor(xs, shape);
          const gamma = tf.tensor1d(gammas);
          const beta = tf.tensor1d(betas);
          const w = tf.tensor(weights, shape);
          const grads = tf.grads((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(batchNormTraining(x, g as tf.Tensor1D, b as tf.Tensor1D, epsilon).y, w)))([x, gamma, beta]);
          const { y, mean, variance } = batchNormTraining(x, gamma, beta, epsilon);
          return [y, mean, variance, ...grads];
        }),
      );
    const gpu = await compute();
    const cpu = await onCpu(compute);
    gpu.forEach((values, k) => expect(worstMismatch(values, cpu[k]!, 1e-5, 1e-4), `output ${k}`).toBeLessThanOrEqual(1));
  });

  it('the fused sgdm step matches the cpu backend\'s tfjs ops: w and the velocity', async () => {
    const [ws, vs, gs] = [11, 12, 13].map((seed) => randomArray(70, seed, -1, 1));
    const attrs = { lr: 0.01, momentum: 0.9, l2: 1e-4 };
    const [w, v, g] = [ws, vs, gs].map((values) => tf.tensor(values!, [7, 10]));
    const fused = tf.engine().runKernel(SgdmUpdate, { w: w!, v: v!, g: g! }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    const gpu = await readAll([...fused, w!, v!, g!]).then((values) => values.slice(0, 2));
    const cpu = await onCpu(() =>
      readAll(
        tf.tidy(() => {
          const [w, v, g] = [ws, vs, gs].map((values) => tf.tensor(values!, [7, 10]));
          const velocity = tf.sub(tf.mul(v!, attrs.momentum), tf.mul(tf.add(g!, tf.mul(w!, attrs.l2)), attrs.lr));
          return [tf.add(w!, velocity), velocity];
        }),
      ),
    );
    gpu.forEach((values, k) => expect(worstMismatch(values, cpu[k]!, 1e-7, 1e-6), `output ${k}`).toBeLessThanOrEqual(1));
  });

  it('runs each fused kernel as one dispatch', () => {
    const x = tf.tensor(randomArray(2 * 3 * 4, 4, -2, 2), [2, 3, 4]);
    const alpha = tf.tensor(randomArray(4, 5, 0.5, 1.5), [4]);
    const dz = tf.tensor(randomArray(2 * 3 * 4, 6), [2, 3, 4]);
    const z = eluWithAlpha(x, alpha);
    const { mean, variance } = batchNormTraining(x, alpha as tf.Tensor1D, alpha as tf.Tensor1D, 0.001);
    const backend = tf.backend() as unknown as { recordAndSubmit(...args: unknown[]): void };
    const record = backend.recordAndSubmit;
    const recorded: string[] = [];
    backend.recordAndSubmit = function (this: unknown, ...args: unknown[]) {
      recorded.push((args[0] as object).constructor.name);
      return record.apply(this, args);
    };
    const run = (kernel: string, inputs: tf.NamedTensorMap, attrs: object = {}) => {
      recorded.length = 0;
      const outputs = tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor[];
      tf.dispose(outputs);
      return { shapes: outputs.map((t) => t.shape), recorded: [...recorded] };
    };
    try {
      expect(run(EluWithAlphaGrad, { x, z, alpha, dz })).toEqual({ shapes: [[2, 3, 4], [4]], recorded: ['EluGradProgram'] });
      expect(run(BatchNormTraining, { x, gamma: alpha, beta: alpha }, { epsilon: 0.001 })).toEqual({ shapes: [[2, 3, 4], [4], [4]], recorded: ['BatchNormForwardProgram'] });
      expect(run(BatchNormTrainingGrad, { x, dy: dz, gamma: alpha, mean, variance }, { epsilon: 0.001 })).toEqual({ shapes: [[2, 3, 4], [4], [4]], recorded: ['BatchNormBackwardProgram'] });
      expect(run(SgdmUpdate, { w: x, v: z, g: dz }, { lr: 0.01, momentum: 0.9, l2: 0 })).toEqual({ shapes: [[2, 3, 4], [2, 3, 4]], recorded: ['SgdmUpdateProgram'] });
    } finally {
      backend.recordAndSubmit = record;
      tf.dispose([x, alpha, dz, z, mean, variance]);
    }
  });

  it.each([
    ['every layer type, sgdm with L2 and a gradient threshold', everyLayerNetworkJson, { solver: 'sgdm', l2Regularization: 0.001, gradientThreshold: 1 }, 1e-4],
    // The conv bias before batch norm has a gradient of pure rounding noise (batch norm cancels
    // it), which adam and rmsprop scale up to full steps of either sign: up to about 3x the
    // learning rate (0.001) per step on either backend, so their weights get 1e-2 absolute.
    ['the seed network (learnable per-channel ELU, batch norm), adam with a global norm threshold', seedNetworkJson, { solver: 'adam', gradientThreshold: 5, gradientThresholdMethod: 'global-l2norm' }, 1e-2],
    ['the seed network, rmsprop', seedNetworkJson, { solver: 'rmsprop' }, 1e-2],
    [
      'a custom layer (its expressions as tfjs ops), sgdm, moving batch-norm statistics and validation',
      seedCustomNetworkJson,
      { batchNormalizationStatistics: 'moving', validationData: 'test', validationFrequency: 1 },
      1e-4,
    ],
  ] as const)('trains %s to the cpu backend\'s losses and weights', async (_, json, overrides, weightAtol) => {
    const data = await digits(32, 48);
    const run = async () => {
      const losses: number[] = [];
      const validationLosses: number[] = [];
      const result = await train(network(json), { source: data.source }, options({ miniBatchSize: 16, maxEpochs: 1, seed: 3, ...overrides }), {
        onProgress: (r) => {
          losses.push(r.miniBatchLoss);
          if (r.validationLoss !== undefined) validationLosses.push(r.validationLoss);
        },
      });
      // webgpu reads only asynchronously (dataSync needs a browser's OffscreenCanvas).
      const weights = await Promise.all(result.classifier.model.weights.map(async (w) => (await w.read().data()) as Float32Array));
      result.classifier.dispose();
      return { losses: [...losses, ...validationLosses], iterations: losses.length, validations: validationLosses.length, weights };
    };
    const gpu = await run();
    const cpu = await onCpu(run);
    // Two iterations (32 images, 16 a batch); where asked, a validation after each, whose losses are compared too.
    expect(gpu).toMatchObject({ iterations: 2, validations: 'validationData' in overrides ? 2 : 0 });
    expect(cpu).toMatchObject({ iterations: gpu.iterations, validations: gpu.validations });
    // Same formulas in float32, different summation orders (and the GPU's exp): about 1e-6
    // relative per value, carried through two steps (seen: losses within 5e-7, sgdm's weights
    // within 3e-6). The second loss follows the first update of every weight; a wrong kernel
    // moves it by far more.
    expect(worstMismatch(gpu.losses, cpu.losses, 1e-4, 1e-4)).toBeLessThanOrEqual(1);
    gpu.weights.forEach((w, k) => expect(worstMismatch(w, cpu.weights[k]!, weightAtol, 1e-3), `weight ${k}`).toBeLessThanOrEqual(1));
    // lavapipe compiles every shader with LLVM on the CPU: 30-60 s a case on a quiet machine.
  }, 300_000);
});
