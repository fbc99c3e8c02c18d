import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';

/** Bytes read from the file at once; also the most a small read may span (two blocks). */
const blockBytes = 1 << 20;
/** Blocks kept: the central directory's and the entries' cursors each walk their own. */
const blocksKept = 4;

/**
 * A zip file for yauzl read in 1 MiB blocks, kept a little while. yauzl reads a zip in many small
 * pieces (each central directory record, each local header, each entry's data: four reads an
 * entry, each a trip through libuv's thread pool), which for 60,000 small images cost more than
 * decoding them. Both cursors move forward, so a few blocks serve almost every read from memory.
 * Ranges larger than a block are read straight from the file.
 */
export class BlockReader extends yauzl.RandomAccessReader {
  private readonly blocks = new Map<number, Promise<Buffer>>();

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {
    super();
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null, bytesRead?: number) => void): void {
    this.range(position, position + length).then(
      (bytes) => callback(null, bytes.copy(buffer, offset)),
      (err: Error) => callback(err),
    );
  }

  override _readStreamForRange(start: number, end: number): Readable {
    if (end - start > blockBytes) return this.uncached(start, end);
    const range = this.range(start, end);
    return new Readable({
      read() {
        range.then(
          (bytes) => {
            this.push(bytes);
            this.push(null);
          },
          (err: Error) => this.destroy(err),
        );
      },
    });
  }

  /** A large range read block by block, past the cache (a file stream on the handle's fd would close it when destroyed). */
  private uncached(start: number, end: number): Readable {
    const { handle } = this;
    let at = start;
    return new Readable({
      read() {
        const bytes = Buffer.allocUnsafe(Math.min(blockBytes, end - at));
        if (bytes.length === 0) return void this.push(null);
        handle.read(bytes, 0, bytes.length, at).then(
          ({ bytesRead }) => {
            at += bytesRead;
            // Short of `end`: yauzl's byte count then reports the entry as cut short.
            this.push(bytesRead === 0 ? null : bytes.subarray(0, bytesRead));
          },
          (err: Error) => this.destroy(err),
        );
      },
    });
  }

  override close(callback: (err: Error | null) => void): void {
    this.handle.close().then(() => callback(null), callback);
  }

  /** The bytes from `start` to `end` (fewer past the end of the file), at most two blocks. */
  private async range(start: number, end: number): Promise<Buffer> {
    end = Math.min(end, this.size);
    if (end <= start) return Buffer.alloc(0);
    const first = Math.floor(start / blockBytes);
    const last = Math.floor((end - 1) / blockBytes);
    const parts: Buffer[] = [];
    for (let b = first; b <= last; b++) {
      const block = await this.block(b);
      parts.push(block.subarray(Math.max(0, start - b * blockBytes), Math.min(blockBytes, end - b * blockBytes)));
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private block(index: number): Promise<Buffer> {
    let block = this.blocks.get(index);
    if (block) {
      // Most recently used last, so the oldest goes first.
      this.blocks.delete(index);
    } else {
      const bytes = Buffer.allocUnsafe(Math.min(blockBytes, this.size - index * blockBytes));
      block = this.handle.read(bytes, 0, bytes.length, index * blockBytes).then(({ bytesRead }) => bytes.subarray(0, bytesRead));
      if (this.blocks.size >= blocksKept) this.blocks.delete(this.blocks.keys().next().value!);
    }
    this.blocks.set(index, block);
    return block;
  }
}
