import { beforeAll, describe, expect, it } from 'vitest';
import { CorruptCheckpoint, decodeCheckpoint, encodeCheckpoint, type TrainingCheckpoint } from '../../src/nn/checkpoint.js';
import { train, type ProgressRecord } from '../../src/nn/train.js';
import { useTestBackend } from '../helpers/backend.js';
import { digits, everyLayerNetworkJson, network, options } from '../helpers/data.js';

beforeAll(useTestBackend);

/** Momentum, batch norm (moving statistics), dropout, augmentation, reshuffling and validation patience all on. */
const settings = {
  miniBatchSize: 32,
  maxEpochs: 3,
  seed: 11,
  shuffle: 'every-epoch',
  batchNormalizationStatistics: 'moving',
  validationData: 'test',
  validationFrequency: 3,
  validationPatience: 50,
  augmentation: { randXReflection: true, randRotation: [-10, 10], randXTranslation: [-2, 2] },
};

async function run(overrides: Record<string, unknown>, resumeFrom?: TrainingCheckpoint) {
  const data = await digits(128, 64);
  const records: ProgressRecord[] = [];
  const checkpoints: TrainingCheckpoint[] = [];
  const result = await train(network(everyLayerNetworkJson), { source: data.source }, options({ ...settings, ...overrides }), {
    onProgress: (r) => void records.push(r),
    // Through the stored form, as a resumed job reads it.
    onCheckpoint: async (c) => void checkpoints.push(decodeCheckpoint(encodeCheckpoint(c))),
    ...(resumeFrom ? { resumeFrom } : {}),
  });
  const weights = result.classifier.model.weights.map((w) => Array.from(w.read().dataSync()));
  result.classifier.dispose();
  return { result, records, checkpoints, weights };
}

const numbers = (r: ProgressRecord) => [r.epoch, r.iteration, r.miniBatchLoss, r.miniBatchAccuracy, r.baseLearnRate, r.validationLoss ?? null];

describe('checkpoints', () => {
  it.each([
    ['sgdm, every 5 iterations, resumed mid-epoch', { checkpointFrequency: 5, checkpointFrequencyUnit: 'iteration' }, 0],
    ['adam, every epoch, resumed at an epoch boundary', { solver: 'adam', checkpointFrequency: 1, checkpointFrequencyUnit: 'epoch' }, 0],
    ['sgdm, shuffled once, a piecewise schedule, resumed from the second checkpoint', { shuffle: 'once', learnRateSchedule: 'piecewise', learnRateDropPeriod: 1, checkpointFrequency: 3, checkpointFrequencyUnit: 'iteration' }, 1],
  ])('a run resumed from a checkpoint ends as the uninterrupted one: %s', async (_name, overrides, which) => {
    const whole = await run(overrides);
    const from = whole.checkpoints[which]!;
    expect(from.iteration).toBeLessThan(whole.result.iterations);
    const resumed = await run(overrides, from);
    // Progress goes on from the checkpoint's iteration: nothing before it is reported again, and the rest as before, bit for bit.
    expect(resumed.records.map(numbers)).toEqual(whole.records.filter((r) => r.iteration > from.iteration).map(numbers));
    expect(resumed.result.iterations).toBe(whole.result.iterations);
    expect(resumed.result.seed).toBe(whole.result.seed);
    expect(resumed.weights).toEqual(whole.weights);
    // And its checkpoints are the uninterrupted run's after that point.
    expect(resumed.checkpoints.map((c) => c.iteration)).toEqual(whole.checkpoints.filter((c) => c.iteration > from.iteration).map((c) => c.iteration));
  });

  it('are taken every checkpointFrequency epochs or iterations, and at least every checkpointIntervalMs', async () => {
    expect((await run({ checkpointFrequency: 2, checkpointFrequencyUnit: 'epoch' })).checkpoints.map((c) => [c.epoch, c.iterationInEpoch, c.iteration])).toEqual([[2, 4, 8]]);
    expect((await run({ checkpointFrequency: 4, checkpointFrequencyUnit: 'iteration', maxEpochs: 2 })).checkpoints.map((c) => c.iteration)).toEqual([4, 8]);
    const data = await digits(128, 64);
    const checkpoints: number[] = [];
    const result = await train(network(), { source: data.source }, options({ miniBatchSize: 32, maxEpochs: 1, seed: 1, checkpointFrequency: 100 }), {
      onCheckpoint: async (c) => void checkpoints.push(c.iteration),
      checkpointIntervalMs: 0,
    });
    result.classifier.dispose();
    expect(checkpoints).toEqual([1, 2, 3, 4]);
  });

  it('is taken where a stop leaves the run when checkpointWhenStopped says so, and the run resumes from there', async () => {
    const overrides = { checkpointFrequency: 100, checkpointFrequencyUnit: 'iteration' };
    const whole = await run(overrides);
    const data = await digits(128, 64);
    const controller = new AbortController();
    const taken: TrainingCheckpoint[] = [];
    const stopped = await train(network(everyLayerNetworkJson), { source: data.source }, options({ ...settings, ...overrides }), {
      onProgress: (r) => void (r.iteration === 6 && controller.abort()),
      signal: controller.signal,
      onCheckpoint: async (c) => void taken.push(decodeCheckpoint(encodeCheckpoint(c))),
      checkpointWhenStopped: () => true,
    });
    stopped.classifier.dispose();
    expect(stopped.stopReason).toBe('aborted');
    expect(taken.map((c) => [c.iteration, c.epoch, c.iterationInEpoch])).toEqual([[6, 2, 2]]);
    const resumed = await run(overrides, taken[0]);
    expect(resumed.weights).toEqual(whole.weights);
    expect(resumed.records.map(numbers)).toEqual(whole.records.filter((r) => r.iteration > 6).map(numbers));
  });

  it('round-trips through their stored form, and a truncated or altered one is refused', async () => {
    const { checkpoints } = await run({ checkpointFrequency: 6, checkpointFrequencyUnit: 'iteration', maxEpochs: 2 });
    const original = checkpoints[0]!;
    const encoded = encodeCheckpoint(original);
    const decoded = decodeCheckpoint(encoded);
    expect(decoded).toEqual(original);
    expect(decoded.order).toBeInstanceOf(Int32Array);
    expect(decoded.solver.first.filter((m) => m !== null).length).toBeGreaterThan(0);
    expect(() => decodeCheckpoint({ ...encoded, tensors: encoded.tensors.subarray(0, encoded.tensors.length - 8) })).toThrow(CorruptCheckpoint);
    expect(() => decodeCheckpoint({ ...encoded, tensors: encoded.tensors.subarray(0, encoded.tensors.length - 8) })).toThrow(/tensors are truncated/);
    const altered = encoded.tensors.slice();
    altered[100] = altered[100]! ^ 1;
    expect(() => decodeCheckpoint({ ...encoded, tensors: altered })).toThrow(/checksum/);
    expect(() => decodeCheckpoint({ ...encoded, state: encoded.state.slice(0, 40) })).toThrow(/not JSON/);
  });
});
