import { PNG } from 'pngjs';
import { checkDeclaredImageSize } from './image-size.js';

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height as a PNG's IHDR chunk (always the first, right after the signature) declares them, without decoding. */
export function pngHeader(buffer: Buffer): { width: number; height: number } {
  if (buffer.length < 24 || !buffer.subarray(0, 8).equals(signature)) throw new Error('no PNG signature');
  if (buffer.toString('latin1', 12, 16) !== 'IHDR') throw new Error('the first chunk is not IHDR');
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
}

/**
 * A PNG as a float image in [0, 1] with `channels` channels (HWC): grey is luminance, colour is
 * RGB; transparency is composited over black, the background of the digits. The size the header
 * declares is checked against `maxPixels` (ImageSizeError) before anything is decoded, and the
 * decoder is pngjs's streaming one, so inflating and unfiltering yield to the event loop.
 */
export async function decodePng(buffer: Buffer, channels: 1 | 3, maxPixels: number): Promise<{ width: number; height: number; pixels: Float32Array }> {
  checkDeclaredImageSize(pngHeader(buffer), maxPixels);
  const png = await new Promise<PNG>((resolve, reject) => new PNG().parse(buffer, (err, decoded) => (err ? reject(err) : resolve(decoded))));
  const { width, height, data } = png;
  const pixels = new Float32Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    const alpha = data[4 * i + 3]! / 255;
    const [r, g, b] = [data[4 * i]!, data[4 * i + 1]!, data[4 * i + 2]!].map((v) => (v / 255) * alpha) as [number, number, number];
    if (channels === 1) pixels[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    else pixels.set([r, g, b], 3 * i);
  }
  return { width, height, pixels };
}

/** A float image in [0, 1] (HWC, 1 or 3 channels) as a PNG, for tests and examples. */
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
