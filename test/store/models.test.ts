import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train } from '../../src/nn/train.js';
import { ModelStore, type ModelManifest } from '../../src/store/models.js';
import { useTestBackend } from '../helpers/backend.js';
import { digits, network, options, seedNetworkJson } from '../helpers/data.js';

let root: string;
beforeAll(async () => {
  await useTestBackend();
  root = await mkdtemp(path.join(tmpdir(), 'trainyard-models-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

function manifest(id: string, createdAt: string): Omit<ModelManifest, 'files'> {
  return {
    formatVersion: 1,
    id,
    createdAt,
    network: seedNetworkJson,
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    inputSize: [28, 28, 1],
    normalization: { type: 'zerocenter', offsetShape: [28, 28, 1] },
    training: {
      options: {},
      dataset: 'digits',
      trainImages: 64,
      backend: { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'cpu', reason: 'test' },
      stopReason: 'max-epochs',
      iterations: 2,
      epochs: 1,
      trainingSeconds: 1,
      finalizeSeconds: 0,
      seed: 1,
    },
    metrics: { miniBatchLoss: 1, miniBatchAccuracy: 0.5 },
  };
}

describe('ModelStore', () => {
  it('saves a trained model and loads it back with identical predictions and the mean image', async () => {
    const data = await digits(64, 50);
    const result = await train(network(), { source: data.source }, options({ miniBatchSize: 32, maxEpochs: 1, seed: 9 }));
    const store = new ModelStore(root);
    const saved = await store.save(result.classifier, manifest('m-1', '2026-01-01T00:00:00.000Z'));
    expect(saved.files).toEqual(['model.json', 'weights.bin']);
    expect((await readdir(root)).filter((n) => n.startsWith('.'))).toEqual([]);

    const { classifier, manifest: read } = await store.load('m-1');
    expect(read).toEqual(saved);
    const before = await result.classifier.predict(data.test.images, data.test.count);
    const after = await classifier.predict(data.test.images, data.test.count);
    expect(Array.from(after)).toEqual(Array.from(before));
    const modelJson = JSON.parse(await readFile(path.join(root, 'm-1', 'model.json'), 'utf8')) as { userDefinedMetadata: { customLayers: string[] } };
    expect(modelJson.userDefinedMetadata.customLayers).toEqual(['trainyard>Elu', 'trainyard>ImageInput']);
    // the mean training image travels inside the weights, so the loaded model normalises by itself
    const offset = classifier.model.getWeights().find((w) => w.shape.join() === '28,28,1')!;
    const mean = Array.from(await offset.data()).reduce((s, v) => s + v, 0) / 784;
    expect(mean).toBeGreaterThan(0.05);
    result.classifier.dispose();
    classifier.dispose();
  });

  it('lists newest first, serves only listed files and deletes', async () => {
    const data = await digits(32);
    const result = await train(network(), { source: data.source }, options({ miniBatchSize: 32, maxEpochs: 1, seed: 1 }));
    const store = new ModelStore(root);
    await store.save(result.classifier, manifest('m-2', '2026-02-01T00:00:00.000Z'));
    result.classifier.dispose();
    expect((await store.list()).map((m) => m.id)).toEqual(['m-2', 'm-1']);
    expect(await store.file('m-2', 'weights.bin')).toBe(path.join(root, 'm-2', 'weights.bin'));
    expect(await store.file('m-2', 'manifest.json')).toBeNull();
    expect(await store.file('m-2', '../m-1/model.json')).toBeNull();
    expect(await store.manifest('../etc')).toBeNull();
    expect(await store.delete('m-2')).toBe(true);
    expect(await store.delete('m-2')).toBe(false);
    expect((await store.list()).map((m) => m.id)).toEqual(['m-1']);
  });
});
