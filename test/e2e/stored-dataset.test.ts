import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { take, type Dataset } from '../../src/data/dataset.js';
import { loadDigits } from '../../src/data/digits.js';
import { InMemorySource } from '../../src/data/in-memory-source.js';
import { readAndVerify } from '../../src/data/ingest/shard-reader.js';
import { StoredSource } from '../../src/data/stored-source.js';
import { train } from '../../src/nn/train.js';
import type { Split } from '../../src/nn/dataset-source.js';
import type { ModelManifest } from '../../src/store/models.js';
import { DatasetStore } from '../../src/store/datasets.js';
import { useTestBackend } from '../helpers/backend.js';
import { network, options, seedNetworkJson } from '../helpers/data.js';
import { ingestAs, writeClassFolderZip } from '../helpers/datasets.js';
import { Stack } from '../helpers/stack.js';

/**
 * Bring your own images, the training side, everything real: digits written as PNG files in class
 * folders into a zip, ingested into the service's dataset store as an upload is, trained on by a
 * worker process through POST /v1/jobs, and predicted on with PNG and JPEG images of other sizes.
 */
let stack: Stack;
let store: DatasetStore;
let original: { train: Dataset; test: Dataset };
const trainOptions = { maxEpochs: 3, miniBatchSize: 64, seed: 1 };

beforeAll(async () => {
  await useTestBackend();
  stack = await Stack.start('stored-dataset', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  store = DatasetStore.inDataDir(stack.env.dataDir);
  const digits = await loadDigits();
  original = { train: take(digits.train, 800), test: take(digits.test, 400) };
  const archive = path.join(stack.env.dataDir, 'digits-png.zip');
  await writeClassFolderZip(archive, original);
  // No API keys here: every caller is the tenant 'local'.
  await ingestAs(store, archive, 'ds-digits', 'local');
  await ingestAs(store, archive, 'ds-theirs', 'another-tenant');
}, 120_000);
afterAll(() => stack.stop());

/** A split of a stored dataset read whole, in stored order, as a dataset in memory. */
async function readSplit(source: StoredSource, split: Split): Promise<Dataset> {
  const { size, classes, counts } = await source.describe();
  const per = size[0] * size[1] * size[2];
  const images = new Float32Array(counts[split] * per);
  const labels = new Uint8Array(counts[split]);
  let at = 0;
  for await (const b of source.batches(split, { batchSize: 100 })) {
    images.set(b.images, at * per);
    labels.set(b.labels, at);
    at += b.count;
  }
  return { images, labels, count: at, size, classes };
}

/** Each image with its label, as text, sorted: equal for two datasets holding the same labelled images in any order. */
function contents(data: Dataset): string[] {
  const per = data.size[0] * data.size[1] * data.size[2];
  return Array.from({ length: data.count }, (_, i) => `${data.labels[i]}:${Array.from(data.images.subarray(i * per, (i + 1) * per), (v) => Math.round(v * 255)).join(',')}`).sort();
}

describe('training on a stored dataset through the service', () => {
  it('trains in a worker as from memory (same seed, accuracy within 0.01), then predicts PNG and JPEG images of other sizes, also once the dataset is deleted', async () => {
    const submitted = await stack.api.submit({ network: seedNetworkJson, dataset: 'ds-digits', options: trainOptions });
    expect(submitted.status).toBe(202);
    const job = await stack.api.waitFor(submitted.body.id, (j) => j.status === 'completed' || j.status === 'failed', 300_000);
    expect(job.status, JSON.stringify(job)).toBe('completed');
    const model = (await stack.api.json<ModelManifest>('GET', `/v1/models/${job.modelId}`)).body;
    expect(model.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(model.dataset).toEqual({ id: 'ds-digits', name: 'ds-digits (uploaded)', sizeMode: 'resize' });
    expect(model.training).toMatchObject({ dataset: 'ds-digits (uploaded)', trainImages: 800 });

    // The same data from memory: what was stored is what was archived, read back in stored order and trained on in this process.
    const manifest = (await store.manifest('ds-digits'))!;
    const stored = new StoredSource(manifest, readAndVerify((name) => store.object('ds-digits', name)));
    const inMemory = { train: await readSplit(stored, 'train'), test: await readSplit(stored, 'test') };
    expect(contents(inMemory.train)).toEqual(contents(original.train));
    expect(contents(inMemory.test)).toEqual(contents(original.test));
    const source = InMemorySource.of(inMemory);
    const fromMemory = await train(network(), { source, name: 'digits in memory' }, options(trainOptions));
    const memoryAccuracy = (await fromMemory.classifier.evaluate(source, 'test'))!.accuracy;
    fromMemory.classifier.dispose();
    expect(model.metrics.testAccuracy).toBeGreaterThan(0.7);
    expect(Math.abs(model.metrics.testAccuracy! - memoryAccuracy)).toBeLessThanOrEqual(0.01);

    // Deleting the dataset keeps the model usable: predict needs only the model's manifest.
    expect(await store.delete('ds-digits')).toBe(true);
    const post = async (body: Buffer, type: string) => {
      const res = await fetch(`${stack.api.base}/v1/models/${job.modelId}/predict`, { method: 'POST', headers: { 'content-type': type }, body });
      expect(res.status).toBe(200);
      return ((await res.json()) as { input: { original: { width: number } }; predictions: { label: string }[] });
    };
    const count = 40;
    const json = await stack.api.json<{ predictions: { label: string }[] }>('POST', `/v1/models/${job.modelId}/predict`, {
      instances: Array.from({ length: count }, (_, i) => Array.from(original.test.images.subarray(i * 784, (i + 1) * 784))),
    });
    expect(json.status).toBe(200);
    const correct = { json: 0, png: 0, jpeg: 0 };
    for (let i = 0; i < count; i++) {
      const truth = String(original.test.labels[i]);
      const raw = sharp(Buffer.from(Uint8Array.from(original.test.images.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255))), { raw: { width: 28, height: 28, channels: 1 } });
      const png = await post(await raw.clone().resize(64, 64).png().toBuffer(), 'image/png');
      const jpeg = await post(await raw.clone().resize(40, 40).toColourspace('srgb').jpeg({ quality: 92 }).toBuffer(), 'image/jpeg');
      expect([png.input.original.width, jpeg.input.original.width]).toEqual([64, 40]);
      if (json.body.predictions[i]!.label === truth) correct.json++;
      if (png.predictions[0]!.label === truth) correct.png++;
      if (jpeg.predictions[0]!.label === truth) correct.jpeg++;
    }
    // Resized there and back, a few uncertain digits may change their answer; the images predict about as well as the originals.
    expect(correct.json / count).toBeGreaterThan(0.7);
    expect(Math.abs(correct.png - correct.json) / count, JSON.stringify(correct)).toBeLessThanOrEqual(0.1);
    expect(Math.abs(correct.jpeg - correct.json) / count, JSON.stringify(correct)).toBeLessThanOrEqual(0.1);
  }, 600_000);

  it("refuses before queueing a network that does not fit the dataset, and another tenant's dataset as one that does not exist", async () => {
    const rgb = await stack.api.submit({ network: { layers: [{ type: 'imageInput', inputSize: [28, 28, 3] }, ...seedNetworkJson.layers.slice(1)] }, dataset: 'digits' });
    expect(rgb.status).toBe(400);
    const errors = (rgb.body as unknown as { errors: { path: string; message: string }[] }).errors;
    expect(errors).toEqual([{ path: 'network.layers[0].inputSize', message: expect.stringMatching(/inputSize \[28, 28, 3\] does not match dataset digits's 28x28x1 images/) }]);
    const theirs = await stack.api.submit({ network: seedNetworkJson, dataset: { id: 'ds-theirs' } });
    const none = await stack.api.submit({ network: seedNetworkJson, dataset: { id: 'ds-none' } });
    expect([theirs.status, none.status]).toEqual([400, 400]);
    const problem = (res: typeof theirs) => (res.body as unknown as { errors: { path: string; message: string }[] }).errors;
    expect(problem(theirs)).toEqual([{ path: 'dataset.id', message: expect.stringMatching(/^dataset\.id: dataset "ds-theirs" does not exist/) }]);
    expect(problem(theirs)[0]!.message.replace('ds-theirs', 'ds-none')).toBe(problem(none)[0]!.message);
  });
});
