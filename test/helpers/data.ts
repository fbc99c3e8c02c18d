import { readFileSync } from 'node:fs';
import { take, type Dataset } from '../../src/data/dataset.js';
import { loadDigits } from '../../src/data/digits.js';
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

export async function digits(trainSize: number, testSize = 500): Promise<{ train: Dataset; test: Dataset }> {
  const { train, test } = await loadDigits();
  return { train: take(train, trainSize), test: take(test, testSize) };
}
