import { createHash } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetStore } from '../store/datasets.js';
import { detectArchiveFile, readArchive } from './ingest/archive.js';
import type { Channels, SizeMode } from './ingest/images.js';
import { ingestArchive } from './ingest/ingest.js';
import type { IngestLimits } from './ingest/limits.js';
import type { DatasetManifest } from './ingest/shards.js';
import { SkipLog } from './ingest/skips.js';

/**
 * A folder or archive on this machine as a stored dataset, for the command line: ingested by the
 * same library and into the same kind of store as an upload, under an id made from what it holds
 * (its real path, each file's name, size and modification time, and the conversion options), so a
 * second run on an unchanged source trains on the stored shards at once, and a changed one is
 * ingested again under a new id.
 */
export interface LocalIngestOptions {
  imageSize?: [number, number];
  channels?: Channels;
  sizeMode?: SizeMode;
  testFraction?: number;
}

/** The tenant the command line's datasets are recorded under (the catalogue serves a stored dataset to its tenant only). */
export const localTenant = 'cli';

export interface LocalDataset {
  id: string;
  manifest: DatasetManifest;
  /** True when an earlier run had stored it already. */
  reused: boolean;
}

/** The dataset `source` holds, ingested into `store` unless an earlier run stored the same. */
export async function localDataset(
  source: string,
  store: DatasetStore,
  limits: IngestLimits,
  options: LocalIngestOptions,
  onProgress?: (progress: { read: number; total: number }) => void,
): Promise<LocalDataset> {
  const id = await localDatasetId(source, limits, options);
  const stored = await store.manifest(id);
  if (stored) return { id, manifest: stored, reused: true };
  const identity = { id, name: path.basename(path.resolve(source)), tenant: localTenant, createdAt: new Date().toISOString() };
  // Without a seed the drawn test split would differ between two sources that hold the same: derive one from the id.
  const seed = Number.parseInt(id.slice(-8), 16);
  const manifest = await ingestArchive(source, store.writer(id), { limits, ...options, seed, identity, ...(onProgress ? { onProgress } : {}) });
  return { id, manifest, reused: false };
}

/** `local-` and a digest of the source's real path, its files' names, sizes and modification times, and the options. */
export async function localDatasetId(source: string, limits: IngestLimits, options: LocalIngestOptions): Promise<string> {
  const real = await realpath(source);
  const hash = createHash('sha256').update(JSON.stringify({ source: real, options }));
  const kind = await detectArchiveFile(real);
  if (kind === 'folder') {
    // Names and sizes only are read here (no file's bytes); the walk's guards apply as in ingestion.
    await readArchive(real, kind, limits, new SkipLog(), async (entry) => {
      if (entry.kind === 'file') hash.update(`\n${entry.name}\0${entry.size}\0${(await stat(path.join(real, entry.name))).mtimeMs}`);
    });
  } else {
    const info = await stat(real);
    hash.update(`\n${info.size}\0${info.mtimeMs}`);
  }
  return `local-${hash.digest('hex').slice(0, 24)}`;
}
