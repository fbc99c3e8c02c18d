import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { IngestError } from './skips.js';

/**
 * MNIST's IDX format: two zero bytes, a type byte (0x08: unsigned byte), the number of
 * dimensions, each dimension as a big-endian uint32, then the values. Images files are
 * (count, rows, columns), labels files (count). The declared sizes are checked against the bytes,
 * and an image's rows x columns against the pixel cap, before any value is read.
 */
export interface IdxImages {
  count: number;
  rows: number;
  columns: number;
  /** count x rows x columns grey bytes. */
  pixels: Uint8Array;
}

const gunzipAsync = promisify(gunzip);

/** The file's bytes, gunzipped when its name ends in .gz (at most `maxBytes` of output). */
export async function idxBytes(name: string, bytes: Buffer, maxBytes: number): Promise<Buffer> {
  if (!name.endsWith('.gz')) return bytes;
  try {
    return await gunzipAsync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    throw new IngestError(`'${name}' cannot be decompressed (or holds more than ${maxBytes} bytes): ${(err as Error).message}`);
  }
}

function readDims(name: string, bytes: Buffer, expected: 1 | 3): number[] {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new IngestError(`'${name}' is not an IDX file (it must start with two zero bytes)`);
  if (bytes[2] !== 0x08) throw new IngestError(`'${name}' holds values of type 0x${bytes[2]!.toString(16)}; only unsigned bytes (0x08) are read`);
  if (bytes[3] !== expected) throw new IngestError(`'${name}' has ${bytes[3]} dimensions; ${expected} were expected`);
  const header = 4 + 4 * expected;
  if (bytes.length < header) throw new IngestError(`'${name}' ends inside its header`);
  const dims = Array.from({ length: expected }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const declared = dims.reduce((a, b) => a * b, 1);
  if (declared !== bytes.length - header) {
    throw new IngestError(`'${name}' declares ${dims.join(' x ')} = ${declared} values but holds ${bytes.length - header} bytes after its header`);
  }
  return dims;
}

export function decodeIdxImages(name: string, bytes: Buffer, limits: { imagePixels: number; images: number }): IdxImages {
  const [count, rows, columns] = readDims(name, bytes, 3) as [number, number, number];
  if (rows < 1 || columns < 1 || rows * columns > limits.imagePixels) {
    throw new IngestError(`'${name}' declares images of ${rows}x${columns} pixels; between 1 and ${limits.imagePixels} pixels are accepted`);
  }
  if (count > limits.images) throw new IngestError(`'${name}' declares ${count} images; a dataset may have at most ${limits.images}`);
  return { count, rows, columns, pixels: bytes.subarray(16) };
}

export function decodeIdxLabels(name: string, bytes: Buffer): Uint8Array {
  readDims(name, bytes, 1);
  return bytes.subarray(8);
}
