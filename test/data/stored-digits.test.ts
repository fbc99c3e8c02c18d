import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digitsDescription, loadDigits } from '../../src/data/digits.js';
import { digitsId, ensureStoredDigits } from '../../src/data/stored-digits.js';
import { readAndVerify } from '../../src/data/ingest/shard-reader.js';
import { StoredSource } from '../../src/data/stored-source.js';
import type { Batch, BatchOptions, Split } from '../../src/nn/dataset-source.js';
import { Random } from '../../src/nn/random.js';
import { DatasetStore } from '../../src/store/datasets.js';

let dataDir: string;
let source: StoredSource;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'stored-digits-'));
  const store = DatasetStore.inDataDir(dataDir);
  source = new StoredSource(await ensureStoredDigits(store), readAndVerify((name) => store.object(digitsId, name)));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/** Every batch of a pass, copied (a source may reuse its arrays for the next batch). */
async function pass(split: Split, options: BatchOptions): Promise<Batch[]> {
  const batches: Batch[] = [];
  for await (const b of source.batches(split, options)) batches.push({ images: b.images.slice(), labels: b.labels.slice(), count: b.count });
  return batches;
}

/** The package's values as a stored uint8 image reads back. */
const quantised = (values: Float32Array) => Float32Array.from(values, (v) => Math.round(v * 255) / 255);

describe('the digits as a stored dataset', () => {
  it('describes 28x28 grey images of ten classes, 5000 per split, as the package holds them', async () => {
    expect(await source.describe()).toEqual(digitsDescription);
    expect(source.manifest).toMatchObject({ layout: 'built-in', identity: { id: 'digits', name: 'digits' }, sizeMode: 'resize' });
    expect(source.manifest.identity!.tenant).toBeUndefined();
    expect(source.manifest.splits.train.perClass.reduce((a, b) => a + b)).toBe(5000);
  });

  it("streams a split in the digits' order, each pixel within 1/510 of the package's value, the last batch smaller unless dropped", async () => {
    const { test } = await loadDigits();
    const kept = await pass('test', { batchSize: 256 });
    expect(kept.map((b) => b.count)).toEqual([...new Array<number>(19).fill(256), 5000 - 19 * 256]);
    expect(kept.flatMap((b) => [...b.labels])).toEqual([...test.labels]);
    const last = test.images.subarray((5000 - 136) * 784);
    expect(kept.at(-1)!.images).toEqual(quantised(last));
    expect(kept.at(-1)!.images.every((v, i) => Math.abs(v - last[i]!) <= 1 / 510 + 1e-7)).toBe(true);
    const dropped = await pass('test', { batchSize: 256, dropLast: true });
    expect(dropped.map((b) => b.count)).toEqual(new Array<number>(19).fill(256));
  });

  it('shuffles as training from memory does (one shard a split: a full permutation), and reads the positions of an order', async () => {
    const { train } = await loadDigits();
    expect(source.manifest.splits.train.shards).toHaveLength(1);
    const order = source.shuffledOrder(new Random(42), 5000);
    expect(order).toEqual(new Random(42).permutation(5000));
    const [first] = await pass('train', { batchSize: 128, order, dropLast: true });
    for (const i of [0, 1, 127]) {
      expect(first!.labels[i]).toBe(train.labels[order[i]!]);
      expect(first!.images.subarray(i * 784, (i + 1) * 784)).toEqual(quantised(train.images.subarray(order[i]! * 784, (order[i]! + 1) * 784)));
    }
  });

  it('refuses a position outside the split', async () => {
    await expect(pass('test', { batchSize: 2, order: [0, 5000] })).rejects.toThrow(/outside the split's 5000 images/);
  });

  it('is written once when two processes need it at once: one set in place, nothing left behind, both read it', async () => {
    const shared = await mkdtemp(path.join(tmpdir(), 'stored-digits-race-'));
    try {
      // Two stores over one folder, as two processes have: neither knows the other is writing.
      const [a, b] = await Promise.all([ensureStoredDigits(DatasetStore.inDataDir(shared)), ensureStoredDigits(DatasetStore.inDataDir(shared))]);
      expect(a.splits).toEqual(b.splits);
      expect(await readdir(path.join(shared, 'datasets'))).toEqual(['digits']);
      const again = DatasetStore.inDataDir(shared);
      expect((await ensureStoredDigits(again)).identity).toEqual((await again.manifest(digitsId))!.identity);
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });
});
