import { loadConfig, type Config } from '../../config.js';

/**
 * Bounds on one archive's ingestion, passed in (from config.ts's `datasets` limits) so tests can
 * set small ones. They stop a zip bomb or a tar of millions of empty files before it costs memory,
 * disk or hours: every guard trips on what an entry declares or on the bytes counted so far, never
 * after the damage is done.
 */
export interface IngestLimits {
  /** Entries (files, folders, links) an archive may list. */
  entries: number;
  /** Uncompressed bytes all entries together may hold. */
  uncompressedBytes: number;
  /** Largest uncompressed/compressed ratio of one zip entry (of the whole stream for tar.gz). */
  ratio: number;
  /** Largest single entry, read whole into memory (an IDX file of 60,000 digits is 47 MB). */
  entryBytes: number;
  /** Images one dataset may hold. */
  images: number;
  /** Pixels an image may declare before it is decoded (MAX_IMAGE_PIXELS). */
  imagePixels: number;
}

/** The ratio guard looks only at entries larger than this: a tiny, very compressible file is no bomb. */
export const ratioFloorBytes = 1 << 20;

/** One entry is read whole: bounded by a constant, not a setting (no image or IDX file nears it). */
const entryBytes = 512 * 2 ** 20;

/** The limits configured for this deployment. */
export function ingestLimits(config: Pick<Config, 'datasets' | 'limits'>): IngestLimits {
  const { images, uncompressedBytes, entries, ratio } = config.datasets;
  return { entries, uncompressedBytes, ratio, entryBytes, images, imagePixels: config.limits.imagePixels };
}

/** The configuration's defaults, for tests and the bench. */
export const defaultIngestLimits: IngestLimits = ingestLimits(loadConfig({}));
