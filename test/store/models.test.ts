import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { train } from '../../src/nn/train.js';
import { PublicationRefused, readBlob } from '../../src/store/blob-store.js';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { ModelStore, ModelUnreadable, type ModelManifest } from '../../src/store/models.js';
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

/** A model's manifest published as another process (a worker) would, without training one. */
async function publishedElsewhere(id: string, tenant: string | undefined): Promise<void> {
  const full: ModelManifest = { ...manifest(id, new Date().toISOString()), ...(tenant ? { tenant } : {}), files: ['model.json', 'weights.bin'] };
  await new FileBlobStore(root).putSet(`models/${id}`, [{ name: 'manifest.json', body: JSON.stringify(full) }]);
}

describe('ModelStore', () => {
  it('saves a trained model in DATA_DIR/models/<id> and loads it back with identical predictions and the mean image', async () => {
    const data = await digits(64, 50);
    const result = await train(network(), { source: data.source }, options({ miniBatchSize: 32, maxEpochs: 1, seed: 9 }));
    const store = ModelStore.inDataDir(root);
    const saved = await store.publish(result.classifier, manifest('m-1', '2026-01-01T00:00:00.000Z'));
    expect(saved.files).toEqual(['model.json', 'weights.bin']);
    expect((await readdir(path.join(root, 'models'))).sort()).toEqual(['m-1']);
    expect((await readdir(path.join(root, 'models', 'm-1'))).sort()).toEqual(['manifest.json', 'model.json', 'weights.bin']);

    const { classifier, manifest: read, version } = (await store.load('m-1'))!;
    expect(read).toEqual(saved);
    expect(version).toBe(await store.version('m-1'));
    const before = await result.classifier.predict(data.test.images, data.test.count);
    const after = await classifier.predict(data.test.images, data.test.count);
    expect(Array.from(after)).toEqual(Array.from(before));
    const modelJson = JSON.parse(await readFile(path.join(root, 'models', 'm-1', 'model.json'), 'utf8')) as { userDefinedMetadata: { customLayers: string[] } };
    expect(modelJson.userDefinedMetadata.customLayers).toEqual(['trainyard>Elu', 'trainyard>ImageInput']);
    // the mean training image travels inside the weights, so the loaded model normalises by itself
    const offset = classifier.model.getWeights().find((w) => w.shape.join() === '28,28,1')!;
    const mean = Array.from(await offset.data()).reduce((s, v) => s + v, 0) / 784;
    expect(mean).toBeGreaterThan(0.05);
    result.classifier.dispose();
    classifier.dispose();
  });

  it('lists newest first, streams only listed files and deletes', async () => {
    const data = await digits(32);
    const result = await train(network(), { source: data.source }, options({ miniBatchSize: 32, maxEpochs: 1, seed: 1 }));
    const store = ModelStore.inDataDir(root);
    await store.publish(result.classifier, manifest('m-2', '2026-02-01T00:00:00.000Z'));
    result.classifier.dispose();
    expect((await store.list()).map((m) => m.id)).toEqual(['m-2', 'm-1']);
    const weights = (await store.file('m-2', 'weights.bin'))!;
    expect(await readBlob(weights)).toEqual(await readFile(path.join(root, 'models', 'm-2', 'weights.bin')));
    expect(await store.file('m-2', 'manifest.json')).toBeNull();
    expect(await store.file('m-2', '../m-1/model.json')).toBeNull();
    expect(await store.manifest('../etc')).toBeNull();
    expect(await store.load('../m-1')).toBeNull();
    expect(await store.delete('m-2')).toBe(true);
    expect(await store.delete('m-2')).toBe(false);
    expect(await store.version('m-2')).toBeNull();
    expect((await store.list()).map((m) => m.id)).toEqual(['m-1']);
  });

  it('publishes fenced by the attempt: a stale attempt is refused and the later model stays', async () => {
    const data = await digits(32);
    const result = await train(network(), { source: data.source }, options({ miniBatchSize: 32, maxEpochs: 1, seed: 2 }));
    const store = ModelStore.inDataDir(root);
    const holds = async () => true;
    try {
      await store.publish(result.classifier, { ...manifest('j-1', '2026-03-01T00:00:00.000Z'), jobId: 'j-1' }, { attempt: 2, holds });
      await expect(store.publish(result.classifier, { ...manifest('j-1', '2026-03-02T00:00:00.000Z'), jobId: 'j-1' }, { attempt: 1, holds })).rejects.toBeInstanceOf(
        PublicationRefused,
      );
      await expect(store.publish(result.classifier, manifest('j-1', '2026-03-03T00:00:00.000Z'), { attempt: 3, holds: async () => false })).rejects.toBeInstanceOf(
        PublicationRefused,
      );
    } finally {
      result.classifier.dispose();
    }
    expect((await store.manifest('j-1'))!.createdAt).toBe('2026-03-01T00:00:00.000Z');
    expect(await store.publishedAttempt('j-1')).toBe(2);
    await store.delete('j-1');
  });

  it('keeps each tenant’s model count right across publications (by any process) and deletes', async () => {
    const api = ModelStore.inDataDir(root);
    const before = { alice: await api.countFor('alice'), bob: await api.countFor('bob') };
    await publishedElsewhere('c-1', 'alice');
    await publishedElsewhere('c-2', 'alice');
    await publishedElsewhere('c-3', 'bob');
    await publishedElsewhere('c-4', undefined);
    expect(await api.countFor('alice')).toBe(before.alice + 2);
    expect(await api.countFor('bob')).toBe(before.bob + 1);
    expect(await api.delete('c-1')).toBe(true);
    expect(await api.countFor('alice')).toBe(before.alice + 1);
    // deleted by another process (another API replica)
    await ModelStore.inDataDir(root).delete('c-3');
    expect(await api.countFor('bob')).toBe(before.bob);
    // republished under the same id: still one model
    await publishedElsewhere('c-2', 'alice');
    expect(await api.countFor('alice')).toBe(before.alice + 1);
    await Promise.all(['c-2', 'c-4'].map((id) => api.delete(id)));
    expect(await api.countFor('alice')).toBe(before.alice);
  });

  it('counting reads only manifests it has not seen', async () => {
    const api = ModelStore.inDataDir(root);
    await publishedElsewhere('r-1', 'carol');
    expect(await api.countFor('carol')).toBe(1);
    // A manifest rewritten in place (never done by the store) is not read again: counting relies on the index, not on re-reading.
    await writeFile(path.join(root, 'models', 'r-1', 'manifest.json'), JSON.stringify({ ...manifest('r-1', 'x'), tenant: 'dave', files: [] }));
    expect(await api.countFor('carol')).toBe(1);
    expect(await api.countFor('dave')).toBe(0);
    await api.delete('r-1');
    expect(await api.countFor('carol')).toBe(0);
  });

  it('says which file of a model is missing or corrupt (ModelUnreadable), and leaves such a model out of lists and counts', async () => {
    const store = ModelStore.inDataDir(root);
    await publishedElsewhere('broken', 'erin');
    await expect(store.load('broken')).rejects.toThrow(new ModelUnreadable('broken', 'its model.json is missing'));
    await writeFile(path.join(root, 'models', 'broken', 'model.json'), '{"modelTopology": {}, "weightsManifest": []}');
    await writeFile(path.join(root, 'models', 'broken', 'weights.bin'), Buffer.alloc(3));
    await expect(store.load('broken')).rejects.toThrow(/model 'broken' cannot be loaded: its files do not make a model/);
    await writeFile(path.join(root, 'models', 'broken', 'manifest.json'), '{not json');
    await expect(store.manifest('broken')).rejects.toBeInstanceOf(ModelUnreadable);
    expect((await store.list()).map((m) => m.id)).not.toContain('broken');
    expect(await ModelStore.inDataDir(root).countFor('erin')).toBe(0);
    await store.delete('broken');
  });
});
