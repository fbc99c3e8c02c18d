/**
 * The storage seam: a store of immutable objects grouped in sets (a model's files, a dataset's
 * shards and manifest, a checkpoint), published all-or-nothing and read back as streams. Keys are
 * '/'-separated names ('models/j-1/weights.bin'); a set is named by its prefix ('models/j-1').
 * Nothing above this interface knows where or how the bytes are kept: the filesystem today
 * (FileBlobStore), S3-compatible object storage next (issue 16). test/store/blob-store.contract.ts
 * is what an implementation must pass.
 */
import type { Readable } from 'node:stream';

/** One object of a set being published: its name inside the set and its bytes. */
export interface BlobObject {
  name: string;
  /** The whole object, or a stream of it (written as it arrives, never read whole into memory). */
  body: Uint8Array | string | AsyncIterable<Uint8Array>;
}

export interface BlobHead {
  key: string;
  size: number;
  /** Changes whenever the object is replaced (a republished set), so a cache can tell stale from fresh. */
  etag: string;
}

export interface BlobStream extends BlobHead {
  /** The object's bytes; it stays readable whole even if its set is deleted or replaced meanwhile. */
  body: Readable;
}

/**
 * Guards a set's publication by the attempt of the job that wrote it. A set published by this or a
 * later attempt is never replaced, and an attempt that no longer owns its job publishes nothing.
 */
export interface PublicationFence {
  attempt: number;
  /** Whether the attempt still owns its job; asked before each step that puts a set in place. */
  holds(): Promise<boolean>;
}

/** The set was not put in place: a later attempt of its job owns it. */
export class PublicationRefused extends Error {
  constructor(readonly attempt: number) {
    super(`attempt ${attempt} no longer owns its job; its model was not published`);
    this.name = 'PublicationRefused';
  }
}

export interface BlobStore {
  /**
   * Publishes a set: readers see either the set as it was before or every object of the new one,
   * never part of it (replacing a set, a backend that cannot swap it in one step may show it absent
   * for a moment in between, as the filesystem's two renames do: never a mix of old and new). Unfenced, it replaces whatever set had that name; fenced, see
   * PublicationFence (throws PublicationRefused). On failure nothing is published and nothing is
   * left behind. Objects are written in the order given.
   */
  putSet(set: string, objects: Iterable<BlobObject> | AsyncIterable<BlobObject>, options?: { fence?: PublicationFence }): Promise<void>;
  /** An object as a stream, or null when it does not exist. */
  get(key: string): Promise<BlobStream | null>;
  head(key: string): Promise<BlobHead | null>;
  /** The names directly under a prefix ('models' → set names, 'models/j-1' → its objects), sorted; '' lists the top. */
  list(prefix: string): Promise<string[]>;
  /** Removes a set whole (readers see it whole or gone); false when there was none. */
  deleteSet(set: string): Promise<boolean>;
  /** The attempt that published a set: 0 for an unfenced one, or none there. */
  publishedAttempt(set: string): Promise<number>;
}

/** A key or set name that is not a '/'-separated path of plain names. */
export class InvalidKey extends Error {
  constructor(readonly key: string) {
    super(`invalid store key '${key}'`);
    this.name = 'InvalidKey';
  }
}

// A name is never empty, never '.' or '..', never hidden (a leading dot marks the store's own
// temporary and marker entries), and never holds a separator or a control character.
const segmentPattern = /^(?!\.)[^/\\\u0000-\u001f]{1,255}$/;

/** Whether `name` is one plain name, usable as one segment of a key. */
export function isKeySegment(name: string): boolean {
  return segmentPattern.test(name);
}

/** The key's segments; throws InvalidKey. '' (the top) has none. */
export function keySegments(key: string, { allowTop = false } = {}): string[] {
  if (key === '') {
    if (allowTop) return [];
    throw new InvalidKey(key);
  }
  const segments = key.split('/');
  if (!segments.every(isKeySegment)) throw new InvalidKey(key);
  return segments;
}

/** Joins a prefix ('' for none) and names into a key. */
export function joinKey(prefix: string, ...names: string[]): string {
  return [prefix, ...names].filter((s) => s !== '').join('/');
}

/** The whole object in memory, for objects that are small or must be parsed whole (a manifest, a model's weights). */
export async function readBlob(stream: BlobStream): Promise<Buffer> {
  return Buffer.concat(await stream.body.toArray());
}
