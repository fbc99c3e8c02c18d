import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { imageStatistics, measureImage, unlikeTraining } from '../../src/data/image-statistics.js';
import { ImageSizeError } from '../../src/data/image-size.js';
import { decodePng, encodePng, pngHeader } from '../../src/data/png.js';

describe('decodePng', () => {
  it('reads the declared size from IHDR and refuses more than maxPixels before decoding', async () => {
    const png = Buffer.from(encodePng([0, 0.5, 1, 0.25], 2, 2, 1));
    expect(pngHeader(png)).toEqual({ width: 2, height: 2 });
    const decoded = await decodePng(png, 1, 4);
    expect(Array.from(decoded.pixels, (v) => Math.round(v * 255))).toEqual([0, 128, 255, 64]);
    await expect(decodePng(png, 1, 3)).rejects.toThrow(ImageSizeError);
    // A header that lies: 2x2 data declaring 100000x100000 is refused by its header, not by a failed decode.
    png.writeUInt32BE(100000, 16);
    png.writeUInt32BE(100000, 20);
    png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
    await expect(decodePng(png, 1, 2 ** 22)).rejects.toThrow(/declares 100000x100000 = 10000000000 pixels; at most 4194304/);
    expect(() => pngHeader(Buffer.from('GIF89a not a png at all....'))).toThrow(/no PNG signature/);
  });
});

describe('decodePng of larger images (in a worker thread)', () => {
  it('gives the same pixels as the image encoded, and rejects a truncated one', async () => {
    const side = 300;
    const image = Float32Array.from({ length: side * side }, (_, i) => ((i * 7) % 256) / 255);
    const png = encodePng(image, side, side, 1);
    const decoded = await decodePng(png, 1, 2 ** 22);
    expect(decoded.width).toBe(side);
    expect(Array.from(decoded.pixels, (v) => Math.round(v * 255))).toEqual(Array.from(image, (v) => Math.round(v * 255)));
    await expect(decodePng(png.subarray(0, png.length >> 1), 1, 2 ** 22)).rejects.toThrow();
  });
});

describe('image statistics', () => {
  // Two 3x3 "digits": a light centre on a dark border.
  const images = Float32Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0.8, 0, 0, 0, 0]);
  const stats = imageStatistics(images, 2, [3, 3, 1]);

  it('records range, brightness and a light-on-dark polarity', () => {
    expect(stats).toMatchObject({ min: 0, max: 1, background: 0, polarity: 'light-on-dark' });
    expect(stats.imageMean.mean).toBeCloseTo(0.1, 6);
    expect(stats.imageMean.std).toBeCloseTo(0.1 / 9, 6);
  });

  it('warns about an inverted image, not about one like the training images', () => {
    const like = Float32Array.from([0, 0, 0, 0, 0.9, 0, 0, 0, 0]);
    expect(unlikeTraining(measureImage(like, 0, [3, 3, 1]), stats)).toEqual([]);
    const inverted = like.map((v) => 1 - v);
    const warnings = unlikeTraining(measureImage(inverted, 0, [3, 3, 1]), stats);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/background \(border mean 1\) is light/);
  });
});
