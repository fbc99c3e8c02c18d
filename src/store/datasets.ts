import type { Readable } from 'node:stream';
import type { DatasetManifest, ShardSink } from '../data/ingest/shards.js';
import { manifestName } from '../data/ingest/shards.js';
import { isKeySegment, joinKey, readBlob, type BlobHead, type BlobObject, type BlobStore, type PublicationFence } from './blob-store.js';
import { FileBlobStore } from './file-blob-store.js';

/**
 * Stored datasets by id in a BlobStore, each a set `<prefix>/<id>` of shards and one manifest.json
 * (src/data/ingest/shards.ts says what they hold). Ingestion writes through `writer()`, which hands
 * each object to the store as it is made and publishes the set whole; readers see a dataset
 * complete or not at all. Nothing above this class knows where the bytes are kept.
 */
export class DatasetStore {
  constructor(
    private readonly blobs: BlobStore,
    private readonly prefix = 'datasets',
  ) {}

  /** The datasets of a data directory: DATA_DIR/datasets. */
  static inDataDir(dataDir: string): DatasetStore {
    return new DatasetStore(new FileBlobStore(dataDir));
  }

  /**
   * Where ingestion writes dataset `id`: each `putObject` resolves once the store has taken the
   * object (so at most one shard waits in memory), `publish` puts the set in place, `abort` leaves
   * nothing behind. Fenced by the ingestion job's attempt, a stale attempt publishes nothing.
   */
  writer(id: string, fence?: PublicationFence): ShardSink {
    const set = this.setOf(id);
    const channel = new ObjectChannel();
    const stored = this.blobs.putSet(set, channel, fence ? { fence } : {});
    stored.catch(() => undefined); // awaited by publish or abort; a failure before either is not unhandled
    return {
      putObject: (name, bytes) => Promise.race([channel.push({ name, body: bytes }), stored.then(() => { throw new Error('the dataset was published early'); })]),
      publish: async () => {
        channel.close();
        await stored;
      },
      abort: async () => {
        channel.close(new Error('ingestion stopped'));
        await stored.catch(() => undefined);
      },
    };
  }

  /** The manifest of a stored dataset, or null when there is none. */
  async manifest(id: string): Promise<DatasetManifest | null> {
    const stream = await this.blobs.get(joinKey(this.setOf(id), manifestName));
    return stream ? (JSON.parse((await readBlob(stream)).toString('utf8')) as DatasetManifest) : null;
  }

  /** One of a stored dataset's objects (a shard) whole; throws when it is missing. */
  async object(id: string, name: string): Promise<Uint8Array> {
    return (await this.read(id, name)).bytes;
  }

  /** One of a stored dataset's objects whole, with its key and the etag of the bytes read; throws when it is missing. */
  async read(id: string, name: string): Promise<BlobHead & { bytes: Uint8Array }> {
    const stream = await this.blobs.get(joinKey(this.setOf(id), name));
    if (!stream) throw missingObject(id, name);
    return { key: stream.key, size: stream.size, etag: stream.etag, bytes: await readBlob(stream) };
  }

  /** One of a stored dataset's objects' key, size and etag (which changes whenever it is replaced), or null when it is missing. */
  head(id: string, name: string): Promise<BlobHead | null> {
    return this.blobs.head(joinKey(this.setOf(id), name));
  }

  /** One of a stored dataset's objects as a stream, for reading part of it; throws when it is missing. */
  async stream(id: string, name: string): Promise<Readable> {
    const stream = await this.blobs.get(joinKey(this.setOf(id), name));
    if (!stream) throw missingObject(id, name);
    return stream.body;
  }

  /** The ids of the stored datasets. */
  list(): Promise<string[]> {
    return this.blobs.list(this.prefix);
  }

  /** Removes a dataset whole; false when there was none. Models trained on it keep what they need in their own manifests. */
  delete(id: string): Promise<boolean> {
    return this.blobs.deleteSet(this.setOf(id));
  }

  private setOf(id: string): string {
    if (!isKeySegment(id)) throw new RangeError(`invalid dataset id '${id}'`);
    return joinKey(this.prefix, id);
  }
}

function missingObject(id: string, name: string): Error {
  return new Error(`dataset '${id}' has no object '${name}': the stored dataset is damaged or was deleted`);
}

/**
 * Objects handed from a producer (ingestion, pushing) to a consumer (the store's putSet, pulling),
 * one at a time: `push` resolves when the consumer asks for the next object, that is once it has
 * written the one pushed.
 */
class ObjectChannel implements AsyncIterable<BlobObject> {
  private waiting: { object: BlobObject; taken: () => void } | null = null;
  private wake: (() => void) | null = null;
  private closed: { error?: Error } | null = null;

  push(object: BlobObject): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the dataset writer is closed'));
    if (this.waiting) return Promise.reject(new Error('one object at a time: await putObject before the next'));
    return new Promise((taken) => {
      this.waiting = { object, taken };
      this.wake?.();
    });
  }

  close(error?: Error): void {
    this.closed = error ? { error } : {};
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<BlobObject> {
    let previous: (() => void) | null = null;
    for (;;) {
      previous?.(); // the consumer came back for more: the previous object is written
      previous = null;
      while (!this.waiting && !this.closed) await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
      if (this.waiting) {
        const { object, taken } = this.waiting;
        this.waiting = null;
        previous = taken;
        yield object;
        continue;
      }
      if (this.closed?.error) throw this.closed.error;
      return;
    }
  }
}
