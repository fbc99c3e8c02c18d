import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { initBackend, type BackendInfo } from '../../src/nn/backend.js';
import { trainAndSave } from '../../src/run/train-and-save.js';
import { requireValidTrainingRequest } from '../../src/run/training-request.js';
import { ModelStore } from '../../src/store/models.js';
import { digits, seedNetworkJson } from '../helpers/data.js';

let backend: BackendInfo;
let dir: string;
beforeAll(async () => {
  backend = await initBackend('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'trainyard-stop-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function stoppedAfterLastIteration(statistics: 'population' | 'moving') {
  const data = { id: 'digits', name: 'digits', sizeMode: 'resize' as const, source: (await digits(128, 300)).source };
  const controller = new AbortController();
  const request = { network: seedNetworkJson, options: { miniBatchSize: 64, maxEpochs: 1, seed: 5, batchNormalizationStatistics: statistics } };
  const folder = path.join(dir, statistics);
  // The limit arrives with the last iteration's progress: every iteration ran, the passes after them did not.
  const onProgress = (r: { iteration: number; totalIterations: number }) => void (r.iteration === r.totalIterations && controller.abort('time-limit'));
  const { result, manifest } = await trainAndSave(loadConfig({}), backend, data, await requireValidTrainingRequest(request, data, loadConfig({})), { ...ModelStore.atFolder(folder), keepAborted: true }, { onProgress, signal: controller.signal });
  const saved = JSON.parse(await readFile(path.join(folder, 'manifest.json'), 'utf8')) as { training: { stopReason: string }; metrics: Record<string, unknown> };
  return { result, manifest, saved };
}

describe('a stop after the last iteration (the time limit covers the whole run)', () => {
  it('stops the test evaluation: the manifest says aborted and has no test metrics, as the job says it was stopped', async () => {
    const { result, manifest, saved } = await stoppedAfterLastIteration('moving');
    expect(result.iterations).toBe(2);
    expect(result.stopReason).toBe('aborted');
    expect(manifest?.training.stopReason).toBe('aborted');
    expect(saved.training.stopReason).toBe('aborted');
    expect(saved.metrics).not.toHaveProperty('testAccuracy');
  });

  it('stops the population statistics pass the same way', async () => {
    const { result, saved } = await stoppedAfterLastIteration('population');
    expect(result.stopReason).toBe('aborted');
    expect(saved.training.stopReason).toBe('aborted');
    expect(saved.metrics).not.toHaveProperty('testAccuracy');
  });
});
