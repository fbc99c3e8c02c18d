import { describe, expect, it } from 'vitest';
import { CustomLayerCheckError } from '../../../src/nn/custom/check-error.js';
import { checkInThread, ensureCustomLayersPass } from '../../../src/nn/custom/check-runner.js';
import { defaultMaxOperations, type CheckReport } from '../../../src/nn/custom/check.js';
import { validateCustomLayer } from '../../../src/nn/custom/validate.js';
import { validateNetwork, type Network } from '../../../src/nn/spec.js';
import { seedNetworkJson } from '../../helpers/data.js';
import { customEluWithBackward, seedNetworkWith } from './seed-elu.js';

/** The layer check in its own thread: the whole report when it fits, a report cut short with a sentence when it does not. */
const elu = (() => {
  const spec = validateCustomLayer(customEluWithBackward, [24, 24, 20]);
  if (!spec.ok) throw new Error('the seed ELU did not validate');
  return spec.value;
})();
const limits = { backend: 'wasm' as const, maxOperations: defaultMaxOperations, timeoutMs: 60_000, heapMb: 1024 };
const statuses = (report: CheckReport) => report.checks.map((c) => `${c.name}:${c.status}`);

describe('checkInThread', () => {
  it('gives the same passing report as in process for the seed ELU', async () => {
    const report = await checkInThread(elu, limits);
    expect(report.summary.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual([
      'definition', 'forwardOneObservation', 'forwardSeveralObservations', 'outputSize', 'outputDtype',
      'backwardSizes', 'gradientsNumericallyCorrect', 'backwardMatchesAutodiff', 'finiteForLargeInputs',
    ]);
  });

  it('runs only what the operation budget pays for, and says it was too expensive to check fully', async () => {
    // One forward of 2 x 24x24x20 values through the ELU's nodes is about 2e5 element-operations.
    const report = await checkInThread(elu, { ...limits, maxOperations: 1_000_000 });
    expect(report.summary.ok).toBe(false);
    expect(statuses(report)).toContain('forwardOneObservation:pass');
    expect(statuses(report)).toContain('gradientsNumericallyCorrect:skip');
    const last = report.checks.at(-1)!;
    expect(last).toMatchObject({ name: 'checkedFully', status: 'fail' });
    expect(last.message).toMatch(/^too expensive to check fully: \w+.* would pass the budget of 1,000,000 element-operations/);
  });

  it('spends what the budget leaves on numerical samples, not a fixed number per tensor', async () => {
    const numeric = (report: CheckReport) =>
      (report.checks.find((c) => c.name === 'gradientsNumericallyCorrect')!.details as { tensors: { entriesChecked: number; skippedAtKinks: number }[] }).tensors;
    const full = numeric(await checkInThread(elu, limits));
    const tight = numeric(await checkInThread(elu, { ...limits, maxOperations: 5_000_000 }));
    const sampled = (t: { entriesChecked: number; skippedAtKinks: number }[]) => t.reduce((n, s) => n + s.entriesChecked + s.skippedAtKinks, 0);
    expect(sampled(tight)).toBeLessThan(sampled(full));
    expect(sampled(tight)).toBeGreaterThanOrEqual(2);
  });

  it('ends the thread at the time limit and answers with a report that says so', async () => {
    // No thread starts tfjs in 1 ms: nothing has finished, everything is reported as cut.
    const report = await checkInThread(elu, { ...limits, timeoutMs: 1 });
    expect(report.summary.ok).toBe(false);
    expect(report.checks.filter((c) => c.status === 'skip')).toHaveLength(9);
    expect(report.checks.at(-1)!.message).toContain('too expensive to check fully: it ran past its time limit of 0.001 s (LAYER_CHECK_TIMEOUT_MS)');
  });
});

describe('ensureCustomLayersPass', () => {
  const network = (() => {
    const n = validateNetwork(seedNetworkWith(customEluWithBackward, seedNetworkJson));
    if (!n.ok) throw new Error('the seed network with the custom ELU did not validate');
    return n.value as Network;
  })();

  it('passes the seed network with the custom ELU', async () => {
    const reports = await ensureCustomLayersPass(network, limits);
    expect(reports.map((r) => r.summary.ok)).toEqual([true]);
  });

  it('fails a layer too expensive to check with a sentence, so a job fails before training', async () => {
    const failure = await ensureCustomLayersPass(network, { ...limits, maxOperations: 1_000_000 }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(CustomLayerCheckError);
    expect((failure as Error).message).toMatch(/custom layer myElu failed its check \(checkedFully: too expensive to check fully: /);
  });
});
