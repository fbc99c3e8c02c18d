import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { TrainingDivergedError } from '../../src/nn/diverged.js';
import { ValidationError } from '../../src/nn/problems.js';
import { learnRate, train, type ProgressRecord } from '../../src/nn/train.js';
import { useTestBackend } from '../helpers/backend.js';
import { everyWasmKernelNetworkJson, expectFlatMemoryOverTenJobs } from '../helpers/flat-memory.js';
import { digits, everyLayerNetworkJson, network, options, seedNetworkJson } from '../helpers/data.js';
import { customEluWithBackward, seedNetworkWith } from './custom/seed-elu.js';

beforeAll(useTestBackend);

const small = { miniBatchSize: 32, maxEpochs: 2, seed: 42 };

async function run(overrides: Record<string, unknown>, trainSize = 256, signal?: AbortSignal, json?: unknown) {
  const data = await digits(trainSize);
  const records: ProgressRecord[] = [];
  const result = await train(network(json), { source: data.source }, options({ ...small, ...overrides }), {
    onProgress: (r) => void records.push(r),
    signal,
  });
  return { result, records, data };
}

function trainableValues(result: Awaited<ReturnType<typeof run>>['result']): Float32Array[] {
  return result.classifier.model.trainableWeights.map((w) => w.read().dataSync() as Float32Array);
}

describe('train', () => {
  it('reads the device at most every readbackIntervalMs and still reports every iteration, in order, with the same numbers', async () => {
    const data = await digits(128, 64);
    const runWith = async (readbackIntervalMs: number) => {
      const records: ProgressRecord[] = [];
      // Validation at iterations 1, 3, 6 and 8 forces reads between the batched ones.
      const settings = { ...small, miniBatchSize: 32, maxEpochs: 2, seed: 5, validationData: 'test', validationFrequency: 3 };
      const result = await train(network(), { source: data.source }, options(settings), {
        onProgress: (r) => void records.push(r),
        readbackIntervalMs,
      });
      result.classifier.dispose();
      return records;
    };
    const everyIteration = await runWith(0);
    const batched = await runWith(3_600_000);
    expect(batched.map((r) => r.iteration)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const numbers = (r: ProgressRecord) => [r.miniBatchLoss, r.miniBatchAccuracy, r.epoch, r.validationLoss, r.validationAccuracy];
    expect(batched.map(numbers)).toEqual(everyIteration.map(numbers));
    expect(batched.filter((r) => r.validationLoss !== undefined).map((r) => r.iteration)).toEqual([1, 3, 6, 8]);
  });

  it('drops the last partial mini-batch, as MATLAB does', async () => {
    const { result, records } = await run({ miniBatchSize: 128, maxEpochs: 2 }, 300);
    expect(result.iterationsPerEpoch).toBe(2);
    expect(records.map((r) => [r.epoch, r.iteration])).toEqual([[1, 1], [1, 2], [2, 3], [2, 4]]);
    expect(result.stopReason).toBe('max-epochs');
    result.classifier.dispose();
  });

  it('learns: the seed network on 256 digits gets well above chance', async () => {
    const { result, records, data } = await run({ maxEpochs: 4 });
    const first = records.slice(0, 3).reduce((s, r) => s + r.miniBatchLoss, 0) / 3;
    const last = records.slice(-3).reduce((s, r) => s + r.miniBatchLoss, 0) / 3;
    expect(last).toBeLessThan(first / 2);
    expect((await result.classifier.evaluate(data.source, 'test')).accuracy).toBeGreaterThan(0.6);
    for (const r of records) {
      expect(r.miniBatchAccuracy).toBeGreaterThanOrEqual(0);
      expect(r.miniBatchAccuracy).toBeLessThanOrEqual(1);
      expect(r.baseLearnRate).toBe(0.01);
    }
    expect(records.map((r) => r.timeElapsed)).toEqual([...records.map((r) => r.timeElapsed)].sort((a, b) => a - b));
    result.classifier.dispose();
  });

  it('is reproducible with a seed and differs without', async () => {
    const a = await run({ maxEpochs: 1 });
    const b = await run({ maxEpochs: 1 });
    const c = await run({ maxEpochs: 1, seed: 43 });
    expect(b.records.map((r) => r.miniBatchLoss)).toEqual(a.records.map((r) => r.miniBatchLoss));
    expect(c.records.map((r) => r.miniBatchLoss)).not.toEqual(a.records.map((r) => r.miniBatchLoss));
    const unseeded = await run({ maxEpochs: 1, seed: undefined });
    expect(Number.isInteger(unseeded.result.seed)).toBe(true);
    for (const r of [a, b, c, unseeded]) r.result.classifier.dispose();
  });

  it('stops within one iteration of an abort and keeps the model as it stands', async () => {
    const controller = new AbortController();
    const data = await digits(256);
    const records: ProgressRecord[] = [];
    const result = await train(network(), { source: data.source }, options(small), {
      onProgress: (r) => {
        records.push(r);
        if (r.iteration === 3) controller.abort();
      },
      signal: controller.signal,
    });
    expect(result.stopReason).toBe('aborted');
    expect(result.iterations).toBe(3);
    expect(records).toHaveLength(3);
    expect((await result.classifier.predict(data.test.images.subarray(0, 784), 1)).length).toBe(10);
    result.classifier.dispose();
  });

  it('stops at the first loss that is not a number and fails with a sentence, leaking no tensors', async () => {
    const data = await digits(256);
    const diverge = async (records: ProgressRecord[]) =>
      train(network(), { source: data.source }, options({ ...small, initialLearnRate: 1e6 }), { onProgress: (r) => void records.push(r) });
    await diverge([]).catch(() => {}); // tfjs caches a few constants on first use
    const baseline = tf.memory().numTensors;
    const records: ProgressRecord[] = [];
    const failure = await diverge(records).then(() => null, (err: unknown) => err);
    expect(failure).toBeInstanceOf(TrainingDivergedError);
    const last = records.at(-1)!;
    expect(Number.isFinite(last.miniBatchLoss)).toBe(false);
    expect(records.slice(0, -1).every((r) => Number.isFinite(r.miniBatchLoss))).toBe(true);
    expect(last.iteration).toBeLessThan(16);
    expect((failure as TrainingDivergedError).message).toContain(`at iteration ${last.iteration} (epoch ${last.epoch})`);
    expect((failure as TrainingDivergedError).toJobError().title).toBe('Training diverged');
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('leaks no tensors: the count returns to its baseline after every run', async () => {
    const data = await digits(128);
    const once = async () => (await train(network(), { source: data.source }, options({ ...small, maxEpochs: 1 }))).classifier.dispose();
    await once(); // tfjs caches a few constants on first use
    const baseline = tf.memory();
    for (let i = 0; i < 3; i++) {
      await once();
      expect(tf.memory().numTensors).toBe(baseline.numTensors);
      expect(tf.memory().numBytes).toBe(baseline.numBytes);
    }
  });

  for (const [name, json] of [
    ['the seed network', undefined],
    ['a network using every wasm training kernel', everyWasmKernelNetworkJson],
    // Its expressions run in a wasm module built for them, kept while the layer lives.
    ['the seed with its ELU as a custom layer', seedNetworkWith(customEluWithBackward, seedNetworkJson)],
  ] as const) {
    it(`keeps a worker's memory flat over 10 jobs of ${name}: tensors back to baseline, no growth in bytes or the wasm heap`, () => expectFlatMemoryOverTenJobs(json));
  }

  it('validates on held-out data and stops when validation loss stops improving', async () => {
    // A tiny learning rate leaves the weights unchanged in float32, so the validation loss never improves.
    const json = {
      layers: [
        { type: 'imageInput', inputSize: [28, 28, 1], normalization: 'none' },
        { type: 'fullyConnected', outputSize: 10 },
        { type: 'softmax' },
        { type: 'classification' },
      ],
    };
    const { result, records } = await run({ initialLearnRate: 1e-30, validationData: 'test', validationFrequency: 1, validationPatience: 2 }, 256, undefined, json);
    expect(result.stopReason).toBe('validation-patience');
    expect(result.iterations).toBe(3);
    expect(records.every((r) => r.validationAccuracy !== undefined && r.validationLoss !== undefined)).toBe(true);
    expect(result.validation?.count).toBe(500);
    result.classifier.dispose();
  });

  it('follows a piecewise learning-rate schedule', async () => {
    const o = options({ learnRateSchedule: 'piecewise', learnRateDropPeriod: 2, learnRateDropFactor: 0.5 });
    expect([1, 2, 3, 4, 5].map((e) => learnRate(o, e))).toEqual([0.01, 0.01, 0.005, 0.005, 0.0025]);
    const { result, records } = await run({ learnRateSchedule: 'piecewise', learnRateDropPeriod: 1, learnRateDropFactor: 0.1 }, 64);
    expect(records.map((r) => r.baseLearnRate.toPrecision(6))).toEqual(['0.0100000', '0.0100000', '0.00100000', '0.00100000']);
    result.classifier.dispose();
  });

  it('trains with adam and rmsprop', async () => {
    for (const solver of ['adam', 'rmsprop']) {
      const { result, records } = await run({ solver, maxEpochs: 3 });
      expect(records[0]!.baseLearnRate).toBe(0.001);
      expect(records.at(-1)!.miniBatchLoss).toBeLessThan(records[0]!.miniBatchLoss);
      result.classifier.dispose();
    }
  });

  it('clips each gradient to gradientThreshold', async () => {
    const base = { momentum: 0, l2Regularization: 0, batchNormalizationStatistics: 'moving', maxEpochs: 1 };
    const aborted = new AbortController();
    aborted.abort();
    const initial = await run(base, 32, aborted.signal);
    const stepped = await run({ ...base, gradientThreshold: 1e-3 }, 32);
    expect(stepped.result.iterations).toBe(1);
    const before = trainableValues(initial.result);
    trainableValues(stepped.result).forEach((after, k) => {
      const change = Math.hypot(...after.map((v, i) => v - before[k]![i]!));
      // lr * threshold, plus float32 rounding of the subtraction: half an ulp of ~0.1 per weight,
      // over up to 11,520 weights, adds at most sqrt(11520) * 3.7e-9 = 4e-7 to the norm.
      expect(change).toBeLessThanOrEqual(0.01 * 1e-3 + 5e-7);
      expect(change).toBeGreaterThan(0);
    });
    initial.result.classifier.dispose();
    stepped.result.classifier.dispose();
  });

  it('trains every layer type on wasm, including dilation, padding, pooling and dropout', async () => {
    const { result, records } = await run({ maxEpochs: 1 }, 64, undefined, everyLayerNetworkJson);
    expect(records).toHaveLength(2);
    for (const r of records) expect(Number.isFinite(r.miniBatchLoss)).toBe(true);
    const before = tf.memory().numTensors;
    result.classifier.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
  });

  it('refuses a network that does not fit the data', async () => {
    const data = await digits(64);
    const json = { layers: [{ type: 'imageInput', inputSize: [32, 32, 1] }, { type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' }] };
    await expect(train(network(json), { source: data.source }, options(small))).rejects.toBeInstanceOf(ValidationError);
  });
});
