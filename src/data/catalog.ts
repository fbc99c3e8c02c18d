import type { Dataset } from './dataset.js';
import { loadDigits } from './digits.js';

/** A dataset with its training split and the held-out split used for testing and validation. */
export interface DatasetSplits {
  name: string;
  train: Dataset;
  test: Dataset;
}

export const builtInDatasets = ['digits'] as const;
export type BuiltInDataset = (typeof builtInDatasets)[number];

/** Image size and class count of each built-in dataset, to check a network before it is queued. */
export const builtInShapes: Record<BuiltInDataset, { size: [number, number, number]; classes: number }> = {
  digits: { size: [28, 28, 1], classes: 10 },
};

/** A job's dataset: a built-in by name, or `{id, trainImages?}` to train on the first N training images. */
export type DatasetRef = string | { id: string; trainImages?: number };

export function resolveDatasetRef(ref: DatasetRef): { name: BuiltInDataset; trainImages?: number } | null {
  const id = typeof ref === 'string' ? ref : ref.id;
  if (!(builtInDatasets as readonly string[]).includes(id)) return null;
  const trainImages = typeof ref === 'string' ? undefined : ref.trainImages;
  return { name: id as BuiltInDataset, ...(trainImages ? { trainImages } : {}) };
}

export async function loadBuiltInDataset(name: BuiltInDataset): Promise<DatasetSplits> {
  const { train, test } = await loadDigits();
  return { name, train, test };
}
