import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { datasetCatalogue } from '../../src/composition.js';
import { requestProblems } from '../../src/api/jobs/routes.js';
import type { Services } from '../../src/api/services.js';
import { loadConfig } from '../../src/config.js';
import { memoryCeilingFor } from '../../src/nn/backend.js';
import { estimateTrainingMemory, trainingMemoryLimit, wholeDatasetBatchSize } from '../../src/nn/memory.js';
import { train } from '../../src/nn/train.js';
import { useTestBackend } from '../helpers/backend.js';
import { digits, network, options } from '../helpers/data.js';

beforeAll(useTestBackend);

const fourGiB = 4 * 2 ** 30;
const input = { type: 'imageInput', inputSize: [28, 28, 1], normalization: 'none' };
const head = [{ type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' }];
const longForward = Array.from({ length: 24 }, (_, i) => `x * a * ${i + 1}`).join(' + ');
const customNet = (forward: string) => ({
  layers: [input, { type: 'convolution2d', filterSize: [3, 3], numFilters: 64, padding: 'same' }, { type: 'custom', name: 'long', learnables: { a: { shape: 'perChannel', initializer: 'ones' } }, forward }, ...head],
});
const wideNet = { layers: [input, { type: 'fullyConnected', outputSize: 60000 }, { type: 'relu' }, ...head] };

describe('estimateTrainingMemory', () => {
  it("counts a custom layer's intermediate tensors: a long expression on 28x28x64 at batch 1024 is over the wasm heap, and the layer is named", () => {
    const long = estimateTrainingMemory(network(customNet(longForward)), options({ miniBatchSize: 1024 }));
    const short = estimateTrainingMemory(network(customNet('x * a')), options({ miniBatchSize: 1024 }));
    expect(long.bytes).toBeGreaterThan(trainingMemoryLimit(fourGiB, memoryCeilingFor('wasm')));
    expect(long.bytes - short.bytes).toBeGreaterThan(20 * 28 * 28 * 64 * 1024 * 4);
    expect(long.largest).toMatchObject({ index: 2, name: 'long' });
  });

  it('counts gradients, the solver state and its update temporaries: 784->60000 with adam does not fit on wasm', () => {
    const wide = network(wideNet);
    const adam = estimateTrainingMemory(wide, options({ solver: 'adam', miniBatchSize: 128 }));
    const sgdm = estimateTrainingMemory(wide, options({ solver: 'sgdm', miniBatchSize: 128 }));
    expect(adam.learnableBytes).toBeGreaterThan(wide.learnables * 4 * 16);
    expect(sgdm.learnableBytes).toBeLessThan(adam.learnableBytes);
    expect(adam.bytes).toBeGreaterThan(trainingMemoryLimit(fourGiB, memoryCeilingFor('wasm')));
    expect(adam.largest.index).toBe(1);
  });

  it('lets the seed network through at its default mini-batch, and only the configured limit binds off wasm', () => {
    expect(estimateTrainingMemory(network(), options()).bytes).toBeLessThan(trainingMemoryLimit(fourGiB, memoryCeilingFor('wasm')));
    expect(trainingMemoryLimit(8 * fourGiB, memoryCeilingFor('tensorflow'))).toBe(8 * fourGiB);
    expect(trainingMemoryLimit(8 * fourGiB, memoryCeilingFor('auto'))).toBeLessThan(fourGiB);
  });

  it('makes a job that cannot fit a 400 problem at network.layers[i]', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'trainyard-memory-'));
    onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
    const services = { config: loadConfig({ TRAINYARD_BACKEND: 'wasm' }), datasets: datasetCatalogue(loadConfig({ DATA_DIR: dataDir })) } as unknown as Services;
    const problems = await requestProblems(services, { network: customNet(longForward), dataset: 'digits', options: { miniBatchSize: 1024 } } as never, 'tenant');
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('network.layers[2]');
    expect(problems[0]!.message).toMatch(/layer 'long' needs the most/);
  });
});

describe('whole-dataset passes', () => {
  it('run population statistics and evaluation in batches of at most wholeDatasetBatchSize, whatever the set size', async () => {
    const data = await digits(700, 700);
    const run = options({ miniBatchSize: 64, maxEpochs: 1, seed: 3, validationData: 'test', batchNormalizationStatistics: 'population' });
    let evaluated = 0;
    const info = await tf.profile(async () => {
      const result = await train(network(), { source: data.source }, run);
      evaluated = (await result.classifier.evaluate(data.source, 'test')).count;
      result.classifier.dispose();
    });
    const leading = info.kernels.flatMap((k) => k.outputShapes.filter((s) => s.length === 4).map((s) => s[0]!));
    expect(evaluated).toBe(700);
    expect(leading.length).toBeGreaterThan(0);
    expect(Math.max(...leading)).toBe(wholeDatasetBatchSize);
  });
});
