import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ImageSizeError } from '../../src/data/image-size.js';
import { decodePng, encodePng, pngHeader } from '../../src/data/png.js';

describe('decodePng', () => {
  it('reads the declared size from IHDR and refuses more than maxPixels before decoding', async () => {
    const png = Buffer.from(encodePng([0, 0.5, 1, 0.25], 2, 2, 1));
    expect(pngHeader(png)).toMatchObject({ width: 2, height: 2 });
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
