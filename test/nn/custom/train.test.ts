import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { initBackend, type BackendInfo } from '../../../src/nn/backend.js';
import { CustomLayerCheckError } from '../../../src/nn/custom/check-error.js';
import { train, type TrainResult } from '../../../src/nn/train.js';
import { trainAndSave } from '../../../src/run/train-and-save.js';
import { requireValidTrainingRequest } from '../../../src/run/training-request.js';
import { ModelStore } from '../../../src/store/models.js';
import { digits, network, options, seedNetworkJson } from '../../helpers/data.js';
import { customEluAutodiff, customEluWithBackward, seedNetworkWith, withBackward } from './seed-elu.js';

let backend: BackendInfo;
let root: string;
beforeAll(async () => {
  backend = await initBackend('wasm');
  root = await mkdtemp(path.join(tmpdir(), 'trainyard-custom-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('training the seed network with the ELU as a custom layer', () => {
  const results = new Map<string, { result: TrainResult; losses: number[]; accuracy: number }>();

  // A short run (512 digits, 2 epochs of 8 iterations); bench/custom-elu.ts does the full 30 epochs.
  beforeAll(async () => {
    const data = await digits(512, 1000);
    const networks = {
      builtIn: seedNetworkJson,
      withBackward: seedNetworkWith(customEluWithBackward, seedNetworkJson),
      autodiff: seedNetworkWith(customEluAutodiff, seedNetworkJson),
    };
    for (const [name, json] of Object.entries(networks)) {
      const losses: number[] = [];
      const result = await train(network(json), { source: data.source }, options({ miniBatchSize: 64, maxEpochs: 2, seed: 42 }), {
        onProgress: (r) => void losses.push(r.miniBatchLoss),
      });
      results.set(name, { result, losses, accuracy: (await result.classifier.evaluate(data.source, 'test')).accuracy });
    }
  });
  afterAll(() => {
    for (const { result } of results.values()) result.classifier.dispose();
  });

  it.each(['withBackward', 'autodiff'])('reaches the accuracy of the built-in layer on the same seed (%s)', (name) => {
    const builtIn = results.get('builtIn')!;
    const custom = results.get(name)!;
    expect(Math.abs(custom.accuracy - builtIn.accuracy)).toBeLessThanOrEqual(0.01);
    expect(builtIn.accuracy).toBeGreaterThan(0.5);
    // Same initial alpha, same formulas: the runs follow each other step by step. They round
    // differently: the custom layer runs tfjs ops, the built-in one the fused wasm kernels (a
    // polynomial exp, batch norm in one pass), so float32 differences of ~1e-6 per step compound
    // over 16 steps; 1e-3 of the loss bounds that and still catches a wrong formula (off by >1e-1).
    custom.losses.forEach((loss, i) => expect(Math.abs(loss - builtIn.losses[i]!)).toBeLessThanOrEqual(1e-3 * builtIn.losses[i]!));
  });
});

describe('trainAndSave with a custom layer', () => {
  it('checks the layer, trains, saves; the model store loads it back alone and it predicts the same', async () => {
    const data = await digits(128, 100);
    const request = { network: seedNetworkWith(customEluWithBackward, seedNetworkJson), options: { maxEpochs: 1, miniBatchSize: 32, seed: 3 } };
    const store = ModelStore.inDataDir(root);
    const { manifest } = await trainAndSave(loadConfig({}), backend, { id: 'digits', name: 'digits', sizeMode: 'resize' as const, source: data.source }, await requireValidTrainingRequest(request, { id: 'digits', name: 'digits', sizeMode: 'resize' as const, source: data.source }, loadConfig({})), { id: 'custom-elu', store });
    if (!manifest) throw new Error('a finished run saves its model');
    const { classifier } = (await store.load('custom-elu'))!;
    // The same test loss to the last bit means the same probabilities for each of the 100 images.
    const evaluation = await classifier.evaluate(data.source, 'test');
    expect({ testAccuracy: evaluation.accuracy, testLoss: evaluation.loss }).toEqual({ testAccuracy: manifest.metrics.testAccuracy, testLoss: manifest.metrics.testLoss });
    const modelJson = JSON.parse(await readFile(path.join(root, 'models', 'custom-elu', 'model.json'), 'utf8')) as { userDefinedMetadata: { customLayers: string[] } };
    expect(modelJson.userDefinedMetadata.customLayers).toEqual(['trainyard>ImageInput', 'trainyard>Custom']);
    expect(JSON.stringify(modelJson)).toContain(customEluWithBackward.forward);
    classifier.dispose();
    await store.delete('custom-elu');
  });

  it('checks the layer first and fails fast with the report, training nothing', async () => {
    const data = await digits(64, 20);
    const network = seedNetworkWith(withBackward('x', 'dz * ((x > 0) + (1 + z) * (x <= 0))'), seedNetworkJson);
    const started = performance.now();
    const request = { network, options: { maxEpochs: 1, miniBatchSize: 32 } };
    const folder = path.join(root, 'models', 'never');
    const error = await trainAndSave(loadConfig({}), backend, { id: 'digits', name: 'digits', sizeMode: 'resize' as const, source: data.source }, await requireValidTrainingRequest(request, { id: 'digits', name: 'digits', sizeMode: 'resize' as const, source: data.source }, loadConfig({})), { id: 'never', store: ModelStore.inDataDir(root) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CustomLayerCheckError);
    const { reports } = error as CustomLayerCheckError;
    expect(reports.map((r) => r.layer)).toEqual(['myElu']);
    expect((error as Error).message).toMatch(/^custom layer myElu failed its check \(gradientsNumericallyCorrect: the gradient for x disagrees/);
    // What the worker stores as the job's error: the message and the reports, as plain JSON.
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ name: 'CustomLayerCheckError', reports: [{ layer: 'myElu', summary: { ok: false } }] });
    expect(existsSync(folder)).toBe(false);
    expect((await readdir(root)).filter((name) => name.includes('never'))).toEqual([]);
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});
