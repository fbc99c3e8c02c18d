import { PNG } from 'pngjs';

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey and alpha, 6 RGBA. */
  colourType: number;
}

/** What a PNG's IHDR chunk (always the first, right after the signature) declares, without decoding. */
export function pngHeader(buffer: Buffer): PngHeader {
  if (buffer.length < 26 || !buffer.subarray(0, 8).equals(signature)) throw new Error('no PNG signature');
  if (buffer.toString('latin1', 12, 16) !== 'IHDR') throw new Error('the first chunk is not IHDR');
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20), bitDepth: buffer[24]!, colourType: buffer[25]! };
}

/** Whether a chunk of `type` comes before the image data (IDAT), where the chunks that describe the image are. */
export function pngHasChunk(buffer: Buffer, type: string): boolean {
  for (let at = 8; at + 8 <= buffer.length; ) {
    const name = buffer.toString('latin1', at + 4, at + 8);
    if (name === type) return true;
    if (name === 'IDAT') return false;
    at += 12 + buffer.readUInt32BE(at);
  }
  return false;
}

/** A float image in [0, 1] (HWC, 1 or 3 channels) as a PNG: tests, examples and the misclassified images of a model. */
export function encodePng(pixels: ArrayLike<number>, width: number, height: number, channels: 1 | 3): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    const at = (c: number) => Math.round(Math.min(1, Math.max(0, pixels[i * channels + (channels === 1 ? 0 : c)]!)) * 255);
    png.data[4 * i] = at(0);
    png.data[4 * i + 1] = at(1);
    png.data[4 * i + 2] = at(2);
    png.data[4 * i + 3] = 255;
  }
  return PNG.sync.write(png);
}
