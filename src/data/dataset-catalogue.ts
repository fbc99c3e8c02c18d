import type { DatasetDescription, DatasetSource } from '../nn/dataset-source.js';
import type { Problem } from '../nn/problems.js';
import { isKeySegment } from '../store/blob-store.js';
import type { DatasetStore } from '../store/datasets.js';
import { digitsDescription } from './digits.js';
import { firstTrainDescription, firstTrainImages } from './first-images.js';
import type { SizeMode } from './ingest/images.js';
import type { DatasetManifest } from './ingest/shards.js';
import { VerifiedShards } from './ingest/verified-shards.js';
import { storedDescription, StoredSource } from './stored-source.js';
import { digitsId, ensureStoredDigits } from './stored-digits.js';

/** A job's dataset: a built-in by name or a stored dataset by id, or `{id, trainImages?}` to train on the first N training images. */
export type DatasetRef = string | { id: string; trainImages?: number };

/** A dataset a job may train on: its source, and what its model's manifest records of it. */
export interface ResolvedDataset {
  id: string;
  name: string;
  /** How its images were brought to their stored size: predict converts images the same way. */
  sizeMode: SizeMode;
  source: DatasetSource;
}

/** A dataset every tenant has: what it holds, known without the store, and how it is written into the store the first time it is trained on. */
export interface BuiltIn {
  description: DatasetDescription;
  store(store: DatasetStore): Promise<DatasetManifest>;
}

/** The digits: the built-in dataset. */
export const builtInDigits: BuiltIn = { description: digitsDescription, store: ensureStoredDigits };

/**
 * The one place a job's dataset reference becomes a dataset source, for the API (to check the
 * network against `describe()` before queueing), the worker and the command line (to train on
 * `batches()`). Every dataset is a stored one (src/data/stored-source.ts): the built-ins (the
 * digits) under their reserved ids, for every tenant; uploaded ones by id, for the tenant their
 * manifest names only — another tenant's is answered as not existing. The built-ins are in a Map,
 * so a user's string never indexes a plain object. Every source it makes loads its shards through
 * one VerifiedShards: a shard one job verified, the next job in the process uses unread.
 */
export class DatasetCatalogue {
  constructor(
    private readonly store: DatasetStore,
    private readonly verifiedShards = new VerifiedShards(0),
    private readonly builtIns: ReadonlyMap<string, BuiltIn> = new Map([[digitsId, builtInDigits]]),
  ) {}

  /**
   * The tenant's dataset the reference names, to train on (a built-in is stored first if it is not
   * yet), or the problem with it (path `dataset` or `dataset.id`).
   */
  async resolve(ref: DatasetRef, tenant: string): Promise<ResolvedDataset | { problem: Problem }> {
    const { id, trainImages } = parts(ref);
    const builtIn = this.builtIns.get(id);
    const manifest = builtIn ? await builtIn.store(this.store) : await this.tenantManifest(id, tenant);
    if (!manifest) return this.missing(ref);
    const objects = { head: (name: string) => this.store.head(id, name), read: (name: string) => this.store.read(id, name) };
    const source = new StoredSource(manifest, (info) => this.verifiedShards.load(objects, info));
    return { id, name: manifest.identity?.name ?? id, sizeMode: manifest.sizeMode, source: trainImages ? firstTrainImages(source, trainImages) : source };
  }

  /**
   * What the referenced dataset holds, for the API's checks before queueing: a built-in's known
   * description (the API never writes a built-in into the store: that is a worker's heavy work), a
   * stored one's from its manifest; or the problem, as resolve answers it.
   */
  async describe(ref: DatasetRef, tenant: string): Promise<{ name: string; description: DatasetDescription } | { problem: Problem }> {
    const { id, trainImages } = parts(ref);
    const builtIn = this.builtIns.get(id);
    const manifest = builtIn ? null : await this.tenantManifest(id, tenant);
    const found = builtIn ? { name: id, description: builtIn.description } : manifest ? { name: manifest.identity?.name ?? id, description: storedDescription(manifest) } : null;
    if (!found) return this.missing(ref);
    return trainImages ? { ...found, description: firstTrainDescription(found.description, trainImages) } : found;
  }

  /** Stores every built-in that is not stored yet (a worker does it at start, not when the first job waits). */
  async prepareBuiltIns(): Promise<void> {
    await Promise.all([...this.builtIns.values()].map((builtIn) => builtIn.store(this.store)));
  }

  private missing(ref: DatasetRef): { problem: Problem } {
    const path = typeof ref === 'string' ? 'dataset' : 'dataset.id';
    const builtIns = [...this.builtIns.keys()].join(', ');
    return { problem: { path, message: `${path}: dataset ${JSON.stringify(parts(ref).id)} does not exist (built-in datasets: ${builtIns}; or the id of one of your datasets)` } };
  }

  /** A stored dataset's manifest, when it is the tenant's. */
  private async tenantManifest(id: string, tenant: string): Promise<DatasetManifest | null> {
    if (!isKeySegment(id)) return null;
    const manifest = await this.store.manifest(id);
    // A dataset without a recorded tenant is no tenant's: only the service records uploads, always with their tenant.
    return manifest?.identity?.tenant === tenant ? manifest : null;
  }
}

function parts(ref: DatasetRef): { id: string; trainImages?: number } {
  return typeof ref === 'string' ? { id: ref } : ref;
}
