import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { take } from '../../src/data/dataset.js';
import { DatasetCatalogue, type ResolvedDataset } from '../../src/data/dataset-catalogue.js';
import { digitsDescription, loadDigits } from '../../src/data/digits.js';
import { DatasetStore } from '../../src/store/datasets.js';
import { ingestAs, writeClassFolderZip } from '../helpers/datasets.js';

let dataDir: string;
let store: DatasetStore;
let catalogue: DatasetCatalogue;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'catalogue-'));
  store = DatasetStore.inDataDir(dataDir);
  catalogue = new DatasetCatalogue(store);
  const { train, test } = await loadDigits();
  const archive = path.join(dataDir, 'mine.zip');
  await writeClassFolderZip(archive, { train: take(train, 40), test: take(test, 20) });
  await ingestAs(store, archive, 'ds-mine', 'tenant-a');
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

function resolved(result: ResolvedDataset | { problem: { message: string } }): ResolvedDataset {
  if ('problem' in result) throw new Error(result.problem.message);
  return result;
}

describe('the dataset catalogue', () => {
  it("describes datasets for the API's checks without writing a built-in into the store", async () => {
    expect(await catalogue.describe('digits', 'tenant-b')).toEqual({ name: 'digits', description: digitsDescription });
    expect(await catalogue.describe({ id: 'digits', trainImages: 100 }, 'tenant-b')).toMatchObject({ description: { counts: { train: 100, test: 5000 } } });
    expect(await catalogue.describe('ds-mine', 'tenant-a')).toEqual({ name: 'ds-mine (uploaded)', description: { size: [28, 28, 1], classes: digitsDescription.classes, counts: { train: 40, test: 20 } } });
    expect(await catalogue.describe({ id: 'ds-mine' }, 'tenant-b')).toEqual(await catalogue.resolve({ id: 'ds-mine' }, 'tenant-b'));
    expect(await store.list()).toEqual(['ds-mine']);
  });

  it('resolves the digits for every tenant to the stored digits', async () => {
    for (const tenant of ['tenant-a', 'tenant-b']) {
      const digits = resolved(await catalogue.resolve('digits', tenant));
      expect(digits).toMatchObject({ id: 'digits', name: 'digits', sizeMode: 'resize' });
      expect(await digits.source.describe()).toEqual(digitsDescription);
    }
    expect(await store.list()).toEqual(['digits', 'ds-mine']);
  });

  it("resolves a tenant's stored dataset by id, with its name and how its images were converted", async () => {
    const mine = resolved(await catalogue.resolve('ds-mine', 'tenant-a'));
    expect(mine).toMatchObject({ id: 'ds-mine', name: 'ds-mine (uploaded)', sizeMode: 'resize' });
    expect(await mine.source.describe()).toEqual({ size: [28, 28, 1], classes: digitsDescription.classes, counts: { train: 40, test: 20 } });
    expect(resolved(await catalogue.resolve({ id: 'ds-mine', trainImages: 10 }, 'tenant-a')).source.describe()).resolves.toMatchObject({ counts: { train: 10, test: 20 } });
  });

  it("answers another tenant's dataset exactly as one that does not exist, at `dataset` or `dataset.id`", async () => {
    const missing = await catalogue.resolve('ds-none', 'tenant-b');
    expect(missing).toEqual({
      problem: { path: 'dataset', message: 'dataset: dataset "ds-none" does not exist (built-in datasets: digits; or the id of one of your datasets)' },
    });
    expect(await catalogue.resolve('ds-mine', 'tenant-b')).toEqual({ problem: { ...(missing as { problem: object }).problem, message: expect.stringContaining('"ds-mine" does not exist') } });
    expect(await catalogue.resolve({ id: 'ds-mine' }, 'tenant-b')).toMatchObject({ problem: { path: 'dataset.id', message: expect.stringMatching(/^dataset\.id: dataset "ds-mine" does not exist/) } });
  });

  it('never finds a name on the prototype of a plain object, nor a path outside the store', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', '../models', 'a/b', '.tmp']) {
      expect(await catalogue.resolve(name, 'tenant-a')).toMatchObject({ problem: { path: 'dataset' } });
    }
  });

  it('trains on the first trainImages images of the training split, and tests on the whole test split', async () => {
    const first = resolved(await catalogue.resolve({ id: 'digits', trainImages: 300 }, 'tenant-a'));
    expect((await first.source.describe()).counts).toEqual({ train: 300, test: 5000 });
    const labels: number[] = [];
    for await (const batch of first.source.batches('train', { batchSize: 128 })) labels.push(...batch.labels);
    const { train } = await loadDigits();
    expect(labels).toEqual([...train.labels.subarray(0, 300)]);
    // More than the split holds: all of it.
    expect((await resolved(await catalogue.resolve({ id: 'digits', trainImages: 9000 }, 'tenant-a')).source.describe()).counts.train).toBe(5000);
  });
});
