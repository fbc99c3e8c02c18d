import type { Readable } from 'node:stream';
import { isKeySegment, joinKey, type BlobStore } from './blob-store.js';

/** The one object of an upload's set. */
const archiveName = 'archive';

/** The upload went past its cap while streaming; nothing of it was kept. */
export class UploadTooLarge extends Error {
  constructor(readonly cap: number) {
    super(`the upload is larger than ${cap} bytes`);
    this.name = 'UploadTooLarge';
  }
}

/**
 * Uploaded dataset archives waiting for ingestion, each a set `<prefix>/<id>` of one object in a
 * BlobStore. An upload is written as it arrives (never held whole in memory) and published only
 * once complete: a dropped connection or an upload past its cap leaves nothing behind.
 */
export class UploadStore {
  constructor(
    private readonly blobs: BlobStore,
    private readonly prefix = 'uploads',
  ) {}

  /** Stores an upload from a stream, refusing it (UploadTooLarge) once it passes `cap` bytes; resolves with its size. */
  async put(id: string, body: AsyncIterable<Uint8Array>, cap: number): Promise<number> {
    let bytes = 0;
    async function* capped(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body) {
        bytes += chunk.length;
        if (bytes > cap) throw new UploadTooLarge(cap);
        yield chunk;
      }
    }
    await this.blobs.putSet(this.setOf(id), [{ name: archiveName, body: capped() }]);
    return bytes;
  }

  /** The upload as a stream, or null when there is none. */
  async get(id: string): Promise<Readable | null> {
    return (await this.blobs.get(joinKey(this.setOf(id), archiveName)))?.body ?? null;
  }

  /** The ids of the stored uploads (complete ones only: one still arriving is not published). */
  list(): Promise<string[]> {
    return this.blobs.list(this.prefix);
  }

  delete(id: string): Promise<boolean> {
    return this.blobs.deleteSet(this.setOf(id));
  }

  private setOf(id: string): string {
    if (!isKeySegment(id)) throw new RangeError(`invalid upload id '${id}'`);
    return joinKey(this.prefix, id);
  }
}
