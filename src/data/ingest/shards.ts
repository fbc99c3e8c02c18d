import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageStatistics } from '../image-statistics.js';
import type { Channels, SizeMode } from './images.js';
import type { LayoutKind, SplitName } from './layouts.js';
import type { SkippedReason } from './skips.js';

/**
 * The stored form of a dataset: per split, fixed-size shards of uint8 images plus their labels,
 * and one manifest that describes them (with each shard's sha256, checked when it is read back).
 *
 * A shard object holds `count` images (height x width x channels bytes each, NHWC) followed by
 * `count` labels as little-endian uint16. Within a split, images are in a seeded random order
 * (classes mixed), so any shard is a fair sample and a reader that shuffles shard order and
 * positions within a few shards sees well-mixed batches.
 */
export const manifestName = 'manifest.json';

export interface ShardInfo {
  name: string;
  count: number;
  bytes: number;
  sha256: string;
}

export interface SplitManifest {
  count: number;
  /** Images per class, indexed like `classes`. */
  perClass: number[];
  shards: ShardInfo[];
}

/** Whose dataset it is and what its owner called it: recorded by the service, absent for the command line's local ones. */
export interface DatasetIdentity {
  id: string;
  name: string;
  /** The tenant that uploaded it; only that tenant may see it or train on it. Absent: no keys configured. */
  tenant?: string;
  createdAt: string;
}

export interface DatasetManifest {
  format: 'trainyard-shards-1';
  identity?: DatasetIdentity;
  layout: LayoutKind;
  classes: string[];
  /** Height, width, channels of every stored image. */
  size: [number, number, Channels];
  sizeMode: SizeMode;
  /** Whether imageSize/channels were given or taken from the most common among the images. */
  sizeFrom: 'options' | 'most common';
  splits: Partial<Record<SplitName, SplitManifest>> & { train: SplitManifest; test: SplitManifest };
  /** How the test split was made: named folders/files, or drawn per label with this fraction and seed. */
  testSplit: { drawn: false } | { drawn: true; testFraction: number; seed: number };
  /** Order of images within each split's shards. */
  shuffleSeed: number;
  imagesPerShard: number;
  /** All shard bytes together. */
  bytes: number;
  skipped: SkippedReason[];
  emptyClasses: string[];
  /** Of the training split, on values scaled to [0, 1] as training sees them. */
  statistics: ImageStatistics;
}

/**
 * Where ingestion writes: objects by name, then `publish()` once all are written (the manifest
 * last), so a reader never sees half a dataset; `abort()` drops what was written. The blob store's
 * atomic put of a set of objects fits behind it.
 */
export interface ShardSink {
  putObject(name: string, bytes: Uint8Array): Promise<void>;
  publish(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A filesystem sink: objects go to a temporary folder beside `folder`, renamed into place by
 * publish.
 */
export function directorySink(folder: string): ShardSink {
  const temporary = `${folder}.partial-${process.pid}-${Date.now()}`;
  let made: Promise<unknown> | null = null;
  return {
    async putObject(name, bytes) {
      if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`object name '${name}' is not a plain file name`);
      made ??= mkdir(temporary, { recursive: true });
      await made;
      await writeFile(path.join(temporary, name), bytes);
    },
    async publish() {
      await mkdir(path.dirname(folder), { recursive: true });
      await rename(temporary, folder);
    },
    async abort() {
      await rm(temporary, { recursive: true, force: true });
    },
  };
}

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A shard object from images and labels. */
export function encodeShard(images: Uint8Array, labels: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(images.length + 2 * labels.length);
  out.set(images, 0);
  const view = new DataView(out.buffer, out.byteOffset + images.length, 2 * labels.length);
  for (let i = 0; i < labels.length; i++) view.setUint16(2 * i, labels[i]!, true);
  return out;
}

/** The images and labels of a shard object of `count` images of `imageBytes` bytes each. */
export function decodeShard(bytes: Uint8Array, count: number, imageBytes: number): { images: Uint8Array; labels: Uint16Array } {
  if (bytes.length !== count * (imageBytes + 2)) throw new Error(`a shard of ${count} images must hold ${count * (imageBytes + 2)} bytes, not ${bytes.length}`);
  const images = bytes.subarray(0, count * imageBytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset + count * imageBytes, 2 * count);
  const labels = new Uint16Array(count);
  for (let i = 0; i < count; i++) labels[i] = view.getUint16(2 * i, true);
  return { images, labels };
}

export const shardName = (split: SplitName, index: number) => `${split}-${String(index).padStart(5, '0')}.shard`;
