import { describe, expect, it } from 'vitest';
import { builtInDatasets, DatasetCatalogue } from '../../src/data/dataset-catalogue.js';
import { digitsSource, loadDigits } from '../../src/data/digits.js';

describe('the dataset catalogue', () => {
  it('resolves the digits by name to their source', async () => {
    const resolved = builtInDatasets.resolve('digits', 'tenant-a');
    expect(resolved).toEqual({ name: 'digits', source: digitsSource });
  });

  it('answers an unknown name with a problem at `dataset`, and an unknown id at `dataset.id`', () => {
    expect(builtInDatasets.resolve('fashion', 'tenant-a')).toEqual({
      problem: { path: 'dataset', message: 'dataset: dataset "fashion" does not exist (built-in datasets: digits)' },
    });
    expect(builtInDatasets.resolve({ id: 'fashion' }, 'tenant-a')).toMatchObject({ problem: { path: 'dataset.id' } });
  });

  it('never finds a name on the prototype of a plain object', () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(builtInDatasets.resolve(name, 'tenant-a')).toMatchObject({ problem: { path: 'dataset' } });
    }
  });

  it('trains on the first trainImages images of the training split, and tests on the whole test split', async () => {
    const resolved = builtInDatasets.resolve({ id: 'digits', trainImages: 300 }, 'tenant-a');
    if ('problem' in resolved) throw new Error(resolved.problem.message);
    expect((await resolved.source.describe()).counts).toEqual({ train: 300, test: 5000 });
    const labels: number[] = [];
    for await (const batch of resolved.source.batches('train', { batchSize: 128 })) labels.push(...batch.labels);
    const { train } = await loadDigits();
    expect(labels).toEqual([...train.labels.subarray(0, 300)]);
    // More than the split holds: all of it.
    const all = builtInDatasets.resolve({ id: 'digits', trainImages: 9000 }, 'tenant-a');
    if ('problem' in all) throw new Error(all.problem.message);
    expect((await all.source.describe()).counts.train).toBe(5000);
  });

  it('looks up the sources it was given', async () => {
    const catalogue = new DatasetCatalogue(new Map([['mine', digitsSource]]));
    expect(catalogue.resolve('mine', 'tenant-a')).toEqual({ name: 'mine', source: digitsSource });
    expect(catalogue.resolve('digits', 'tenant-a')).toMatchObject({ problem: { message: expect.stringMatching(/built-in datasets: mine\)$/) } });
  });
});
