import { readFileSync } from 'node:fs';
import { take, type Dataset } from '../../src/data/dataset.js';
import { loadDigits } from '../../src/data/digits.js';
import { InMemorySource } from '../../src/data/in-memory-source.js';
import { validateTrainingOptions, type TrainingOptions } from '../../src/nn/options.js';
import { validateNetwork, type Network } from '../../src/nn/spec.js';

export const seedNetworkJson = JSON.parse(readFileSync(new URL('../../examples/seed-elu.json', import.meta.url), 'utf8')) as {
  layers: Record<string, unknown>[];
};

export function network(json: unknown = seedNetworkJson): Network {
  const result = validateNetwork(json);
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.value;
}

export function options(overrides: Record<string, unknown> = {}): TrainingOptions {
  const result = validateTrainingOptions(overrides);
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.value;
}

/** The first images of the digits' splits, and a dataset source over them (what train() reads). */
export async function digits(trainSize: number, testSize = 500): Promise<{ train: Dataset; test: Dataset; source: InMemorySource }> {
  const all = await loadDigits();
  const train = take(all.train, trainSize);
  const test = take(all.test, testSize);
  return { train, test, source: InMemorySource.of({ train, test }) };
}
