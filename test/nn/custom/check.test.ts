import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkCustomLayer, type CheckReport } from '../../../src/nn/custom/check.js';
import { validateCheckRequest } from '../../../src/nn/custom/check-request.js';
import { useTestBackend } from '../../helpers/backend.js';
import { customEluAutodiff, customEluWithBackward, withBackward } from './seed-elu.js';

beforeAll(useTestBackend);

const seedInput: [number, number, number] = [24, 24, 20];

function statuses(report: CheckReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((c) => [c.name, c.status]));
}

function check(report: CheckReport, name: string) {
  const found = report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name}`);
  return found;
}

describe('checkCustomLayer', () => {
  it('passes the seed ELU with its hand-written backward, and reports tolerance and worst error per tensor', async () => {
    const before = tf.memory().numTensors;
    const report = await checkCustomLayer(customEluWithBackward, seedInput);
    expect(tf.memory().numTensors).toBe(before);
    expect(report).toMatchObject({ layer: 'myElu', inputSize: seedInput, observations: 2, gradients: 'backward' });
    expect(statuses(report)).toEqual({
      definition: 'pass',
      forwardOneObservation: 'pass',
      forwardSeveralObservations: 'pass',
      outputSize: 'pass',
      outputDtype: 'pass',
      backwardSizes: 'pass',
      gradientsNumericallyCorrect: 'pass',
      backwardMatchesAutodiff: 'pass',
      finiteForLargeInputs: 'pass',
    });
    expect(report.summary).toEqual({ ok: true, passed: 9, failed: 0, skipped: 0, text: '9 checks: 9 passed, 0 failed, 0 skipped' });
    const numeric = check(report, 'gradientsNumericallyCorrect');
    expect(numeric.details).toMatchObject({ tolerance: { relative: 1e-3, floor: 1e-3 } });
    const tensors = (numeric.details as { tensors: { tensor: string; worstRelativeError: number; entriesChecked: number; entries: number }[] }).tensors;
    expect(tensors.map((t) => t.tensor)).toEqual(['x', 'alpha']);
    for (const t of tensors) {
      expect(t.worstRelativeError).toBeLessThan(1e-4);
      expect(t.entriesChecked).toBeGreaterThanOrEqual(4);
    }
    expect(tensors[1]).toMatchObject({ entriesChecked: 20, entries: 20 });
    expect(check(report, 'outputSize').message).toBe('the output [2, 24, 24, 20] is the [N, 24, 24, 20] the network assumes');
  });

  it('passes the seed ELU without a backward, skipping the comparison with autodiff', async () => {
    const report = await checkCustomLayer(customEluAutodiff, seedInput, { observations: 1 });
    expect(report.gradients).toBe('autodiff');
    expect(report.summary).toMatchObject({ ok: true, passed: 7, skipped: 2 });
    expect(check(report, 'forwardSeveralObservations').message).toBe('skipped: observations is 1');
    expect(check(report, 'backwardMatchesAutodiff').status).toBe('skip');
  });

  it.each([
    ['dX with (1 + z) where (alpha + z) belongs', withBackward('x', 'dz * ((x > 0) + (1 + z) * (x <= 0))'), 'x'],
    ['dAlpha missing the - 1', withBackward('alpha', 'sum(dz * exp(min(x, 0)), "spatial+batch")'), 'alpha'],
  ])('fails the gradient checks for a wrong backward (%s) and names the tensor', async (_what, layer, tensor) => {
    const report = await checkCustomLayer(layer, seedInput);
    expect(report.summary.ok).toBe(false);
    for (const name of ['gradientsNumericallyCorrect', 'backwardMatchesAutodiff']) {
      const result = check(report, name);
      expect(result.status).toBe('fail');
      expect(result.message).toMatch(new RegExp(`^the gradient for ${tensor} disagrees with .* worst relative error \\S+ at ${tensor}\\[[\\d, ]+\\] \\(tolerance 0\\.001\\)$`));
      const perTensor = (result.details as { tensors: { tensor: string; worstRelativeError: number }[] }).tensors;
      for (const t of perTensor) expect(t.worstRelativeError > 1e-3).toBe(t.tensor === tensor);
    }
    expect(report.summary.text).toBe('9 checks: 7 passed, 2 failed (gradientsNumericallyCorrect, backwardMatchesAutodiff), 0 skipped');
  });

  it('fails a forward whose gradient overflows for large inputs (exp(x) rather than exp(min(x, 0)))', async () => {
    const report = await checkCustomLayer({ ...customEluAutodiff, forward: 'x > 0 ? x : alpha * (exp(x) - 1)' }, seedInput);
    expect(statuses(report)).toMatchObject({ gradientsNumericallyCorrect: 'pass', finiteForLargeInputs: 'fail' });
    expect(check(report, 'finiteForLargeInputs').message).toMatch(/: dx is NaN where x = 100(\b|;)/);
  });

  it('fails the definition, with every problem, and skips the rest', async () => {
    const report = await checkCustomLayer({ ...customEluWithBackward, forward: 'x > 0 ? x : alpah' }, seedInput);
    expect(report.gradients).toBeNull();
    expect(check(report, 'definition')).toMatchObject({
      status: 'fail',
      message: "layer: forward: unknown name 'alpah' at column 13 (known: x, alpha)",
      details: { problems: [{ path: 'layer.forward', message: "layer: forward: unknown name 'alpah' at column 13 (known: x, alpha)" }] },
    });
    expect(report.summary).toMatchObject({ ok: false, passed: 0, failed: 1, skipped: 8 });
  });
});

describe('validateCheckRequest', () => {
  it('accepts {layer, inputSize, observations?} and reports each problem with its path', () => {
    const ok = validateCheckRequest({ layer: customEluWithBackward, inputSize: seedInput });
    expect(ok.ok && ok.value.observations).toBe(2);
    expect(ok.ok && ok.value.layer.outputSize).toEqual(seedInput);
    const bad = validateCheckRequest({ layer: { ...customEluWithBackward, forward: 'min(x)' }, inputSize: [24, 24], observations: 0, extra: 1 });
    expect(!bad.ok && bad.problems.map((p) => p.path)).toEqual(['extra', 'inputSize', 'observations']);
    const badLayer = validateCheckRequest({ layer: { ...customEluWithBackward, forward: 'min(x)' }, inputSize: seedInput });
    expect(!badLayer.ok && badLayer.problems).toEqual([{ path: 'layer.forward', message: 'layer: forward: min(a, b) takes 2 arguments, not 1, at column 1' }]);
    const huge = validateCheckRequest({ layer: customEluWithBackward, inputSize: [4096, 4096, 3] });
    expect(!huge.ok && huge.problems[0]!.message).toBe("observations x inputSize is 100,663,296 values; the check's limit is 4,194,304");
  });
});
