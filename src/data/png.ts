import { PNG } from 'pngjs';

/**
 * A PNG as a float image in [0, 1] with `channels` channels (HWC): grey is luminance, colour is
 * RGB; transparency is composited over black, the background of the digits.
 */
export function decodePng(buffer: Buffer, channels: 1 | 3): { width: number; height: number; pixels: Float32Array } {
  const png = PNG.sync.read(buffer);
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
