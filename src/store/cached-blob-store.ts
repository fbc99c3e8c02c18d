/**
 * A BlobStore that keeps what it reads on local disk, in front of a remote one (object storage):
 * an API process reads a model's files once, a worker each dataset shard once, however many times
 * they are used. Everything but get() goes straight to the remote store.
 *
 * Never stale: every get() asks the remote store for the object's head first, and a cached copy is
 * used only when it was stored under that same etag (a replaced object has another; a deleted one
 * none, and get() answers null). Files are named by a hash of key and etag, written to a temporary
 * name and renamed into place, so processes sharing the folder (or each with its own) never see a
 * partial copy; a file removed by another process's eviction is either already open (and reads to
 * the end) or fetched again. The folder is kept under a size cap by removing the least recently used
 * files; an object larger than the cap is streamed through without being kept.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobHead, BlobObject, BlobStore, BlobStream, PublicationFence } from './blob-store.js';

export interface ReadCacheOptions {
  /** The cache's folder; created when first needed. */
  dir: string;
  /** Bytes the folder may hold; the least recently used files go beyond it. */
  maxBytes: number;
}

const temporaryPrefix = '.tmp-';
/** A temporary file this old was left by a process that died mid-download. */
const abandonedTemporaryMs = 60 * 60 * 1000;

export class CachedBlobStore implements BlobStore {
  /** Downloads under way in this process, by file name: concurrent readers of one object share one. */
  private readonly downloads = new Map<string, Promise<void>>();

  constructor(
    private readonly remote: BlobStore,
    private readonly options: ReadCacheOptions,
  ) {}

  putSet(set: string, objects: Iterable<BlobObject> | AsyncIterable<BlobObject>, options?: { fence?: PublicationFence }): Promise<void> {
    return this.remote.putSet(set, objects, options);
  }

  head(key: string): Promise<BlobHead | null> {
    return this.remote.head(key);
  }

  list(prefix: string): Promise<string[]> {
    return this.remote.list(prefix);
  }

  deleteSet(set: string): Promise<boolean> {
    return this.remote.deleteSet(set);
  }

  publishedAttempt(set: string): Promise<number> {
    return this.remote.publishedAttempt(set);
  }

  async get(key: string): Promise<BlobStream | null> {
    const head = await this.remote.head(key);
    if (!head) return null;
    if (head.size > this.options.maxBytes) return this.remote.get(key);
    const cached = await this.open(head);
    if (cached) return cached;
    const fresh = await this.remote.get(key);
    if (!fresh) return null;
    // A cache that cannot keep the object (disk full, folder not writable) only costs a second read.
    const kept = await this.download(fresh).then(() => true, () => false);
    // Evicted at once by another process sharing the folder (a cap smaller than what is in use): read it remotely.
    return (kept ? await this.open(fresh) : null) ?? this.remote.get(key);
  }

  /** The cached copy of exactly this version of the object, opened (and marked as just used), or null. */
  private async open(head: BlobHead): Promise<BlobStream | null> {
    const file = path.join(this.options.dir, fileName(head));
    const handle = await open(file, 'r').catch(() => null);
    if (!handle) return null;
    try {
      if ((await handle.stat()).size !== head.size) {
        await handle.close();
        return null;
      }
      const now = new Date();
      await handle.utimes(now, now);
      return { ...head, body: handle.createReadStream() };
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }

  /** Keeps `stream` (consumed here) on disk under its key and etag; other versions of the key go. */
  private download(stream: BlobStream): Promise<void> {
    const name = fileName(stream);
    const running = this.downloads.get(name);
    if (running) {
      stream.body.destroy();
      return running;
    }
    const done = this.write(stream, name).finally(() => this.downloads.delete(name));
    this.downloads.set(name, done);
    return done;
  }

  private async write(stream: BlobStream, name: string): Promise<void> {
    const { dir } = this.options;
    const tmp = path.join(dir, `${temporaryPrefix}${randomUUID()}`);
    try {
      await mkdir(dir, { recursive: true });
      let bytes = 0;
      const counted = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          bytes += chunk.length;
          callback(null, chunk);
        },
      });
      await pipeline(stream.body, counted, createWriteStream(tmp, { flags: 'wx' }));
      if (bytes !== stream.size) throw new Error(`object '${stream.key}' ended after ${bytes} of ${stream.size} bytes`);
      await rename(tmp, path.join(dir, name));
    } catch (err) {
      stream.body.destroy(); // not read to the end: let its connection go
      await rm(tmp, { force: true });
      throw err;
    }
    await this.evict(name);
  }

  /** Removes other versions of the object just kept, abandoned temporaries, and the least recently used files beyond the cap. */
  private async evict(kept: string): Promise<void> {
    const { dir, maxBytes } = this.options;
    const sameKey = kept.slice(0, kept.indexOf('-') + 1);
    const now = Date.now();
    const files: { name: string; size: number; used: number }[] = [];
    for (const name of await readdir(dir)) {
      const info = await stat(path.join(dir, name)).catch(() => null);
      if (!info?.isFile()) continue;
      const doomed = name.startsWith(temporaryPrefix) ? now - info.mtimeMs > abandonedTemporaryMs : name !== kept && name.startsWith(sameKey);
      if (doomed) await rm(path.join(dir, name), { force: true });
      else if (!name.startsWith(temporaryPrefix)) files.push({ name, size: info.size, used: info.mtimeMs });
    }
    let total = files.reduce((sum, f) => sum + f.size, 0);
    for (const file of files.sort((a, b) => a.used - b.used)) {
      if (total <= maxBytes) break;
      await rm(path.join(dir, file.name), { force: true });
      total -= file.size;
    }
  }
}

/** '<hash of key>-<hash of etag>': one name per version of an object, and its other versions found by the first half. */
function fileName(head: BlobHead): string {
  const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);
  return `${hash(head.key)}-${hash(head.etag)}`;
}
