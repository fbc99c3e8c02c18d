import { verifyShard } from './shard-reader.js';
import { sha256, type ShardInfo } from './shards.js';

/** A stored object's version: its etag changes whenever the object is replaced. */
export interface ObjectVersion {
  key: string;
  etag: string;
}

/** A dataset's stored objects, by name, with the version of what is read. */
export interface VersionedObjects {
  /** The object's version now, or null when it is missing. */
  head(name: string): Promise<ObjectVersion | null>;
  /** The object whole, with the version of the bytes read; throws when it is missing. */
  read(name: string): Promise<ObjectVersion & { bytes: Uint8Array }>;
}

interface Verified {
  etag: string;
  sha256: string;
  bytes: Uint8Array;
}

/**
 * Shards this process read and verified, kept in memory so that the next job on the same shard
 * neither reads nor hashes it again: every job re-read and re-hashed the built-in digits (8 MB),
 * which dominated a tiny job. Never stale nor unverified: each load asks the store for the object's
 * etag first, and a kept shard is used only if it was read under that very etag and verified
 * against the same checksum the manifest names now (a replaced object has another etag and is read
 * and verified again; a deleted one fails as before). A shard that fails its checksum is never kept.
 * Bounded by `maxBytes`, the least recently used going first; a shard larger than the bound is
 * verified and used but not kept; 0 keeps none. The bytes are shared with the readers using them,
 * who only read them.
 */
export class VerifiedShards {
  /** By object key, least recently used first: one version of an object at a time. */
  private readonly kept = new Map<string, Verified>();
  private keptBytes = 0;

  constructor(
    readonly maxBytes: number,
    private readonly hash: (bytes: Uint8Array) => string = sha256,
  ) {}

  /** Bytes kept now. */
  get bytes(): number {
    return this.keptBytes;
  }

  /** The shard's bytes, verified against `info` (ShardChecksumError otherwise). */
  async load(objects: VersionedObjects, info: ShardInfo): Promise<Uint8Array> {
    if (this.maxBytes > 0) {
      const version = await objects.head(info.name);
      const found = version && this.kept.get(version.key);
      if (found && found.etag === version.etag && found.sha256 === info.sha256 && found.bytes.length === info.bytes) {
        this.kept.delete(version.key); // re-inserted: most recently used last
        this.kept.set(version.key, found);
        return found.bytes;
      }
    }
    const { key, etag, bytes } = await objects.read(info.name);
    // Whatever was kept under this key is not what the store holds or the manifest names now.
    this.forget(key);
    verifyShard(bytes, info, this.hash);
    this.keep(key, { etag, sha256: info.sha256, bytes });
    return bytes;
  }

  private keep(key: string, shard: Verified): void {
    if (shard.bytes.length > this.maxBytes) return;
    this.kept.set(key, shard);
    this.keptBytes += shard.bytes.length;
    for (const oldest of this.kept.keys()) {
      if (this.keptBytes <= this.maxBytes) break;
      this.forget(oldest);
    }
  }

  private forget(key: string): void {
    const shard = this.kept.get(key);
    if (!shard) return;
    this.kept.delete(key);
    this.keptBytes -= shard.bytes.length;
  }
}
