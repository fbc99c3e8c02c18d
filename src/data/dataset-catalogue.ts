import type { DatasetSource } from '../nn/dataset-source.js';
import type { Problem } from '../nn/problems.js';
import { digitsSource } from './digits.js';
import { firstTrainImages } from './first-images.js';

/** A job's dataset: a built-in by name, or `{id, trainImages?}` to train on the first N training images. */
export type DatasetRef = string | { id: string; trainImages?: number };

/** A dataset a job may train on: its source, and the name its model's manifest records. */
export interface ResolvedDataset {
  name: string;
  source: DatasetSource;
}

/**
 * The one place a job's dataset reference becomes a dataset source, for the API (to check the
 * network against `describe()` before queueing), the worker and the command line (to train on
 * `batches()`). The built-ins are in a Map, so a user's string never indexes a plain object.
 */
export class DatasetCatalogue {
  constructor(private readonly builtIns: ReadonlyMap<string, DatasetSource>) {}

  /**
   * The tenant's dataset the reference names, or the problem with it (path `dataset` or
   * `dataset.id`). Built-ins belong to every tenant; the tenant decides which uploaded datasets a
   * reference may name once there are some.
   */
  resolve(ref: DatasetRef, tenant: string): ResolvedDataset | { problem: Problem } {
    const id = typeof ref === 'string' ? ref : ref.id;
    const source = this.builtIns.get(id);
    if (!source) {
      const path = typeof ref === 'string' ? 'dataset' : 'dataset.id';
      return { problem: { path, message: `${path}: dataset ${JSON.stringify(id)} does not exist (built-in datasets: ${[...this.builtIns.keys()].join(', ')})` } };
    }
    const trainImages = typeof ref === 'string' ? undefined : ref.trainImages;
    return { name: id, source: trainImages ? firstTrainImages(source, trainImages) : source };
  }
}

/** The datasets every tenant has: the digits. */
export const builtInDatasets = new DatasetCatalogue(new Map([['digits', digitsSource]]));
