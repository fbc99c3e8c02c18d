import { PNG } from 'pngjs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { convertImage, convertWithSharp, readImageHeader, type Channels } from '../../../src/data/ingest/images.js';

/** A 13x9 image with every byte different across pixels and channels, so a swapped or dropped channel shows. */
function pattern(channels: number): Buffer {
  return Buffer.from(Array.from({ length: 13 * 9 * channels }, (_, i) => (i * 37 + (i % channels) * 91) % 256));
}

const raw = (channels: 1 | 2 | 3 | 4) => sharp(pattern(channels), { raw: { width: 13, height: 9, channels } });

/** PNGs of every kind the pngjs shortcut takes, and some it must leave to sharp. */
const variants: Record<string, () => Promise<Buffer>> = {
  grey: () => raw(1).toColourspace('b-w').png().toBuffer(),
  'grey and alpha': () => raw(2).toColourspace('b-w').png().toBuffer(),
  rgb: () => raw(3).png().toBuffer(),
  rgba: () => raw(4).png().toBuffer(),
  interlaced: () => raw(3).png({ progressive: true }).toBuffer(),
  palette: () => raw(3).png({ palette: true }).toBuffer(),
  '16-bit grey': () => raw(1).toColourspace('grey16').png().toBuffer(),
  'with a colour profile': () => raw(3).png().withIccProfile('p3').toBuffer(),
  // pngjs's own encoder: grey with the colour type and filters it chooses.
  'pngjs grey': async () => {
    const png = new PNG({ width: 13, height: 9, colorType: 0, inputColorType: 0, inputHasAlpha: false });
    return PNG.sync.write(Object.assign(png, { data: pattern(1) }), { colorType: 0, inputColorType: 0, inputHasAlpha: false });
  },
};

describe('the pngjs shortcut for PNGs of the target size', () => {
  for (const [kind, make] of Object.entries(variants)) {
    for (const channels of [1, 3] as Channels[]) {
      it(`${kind} to ${channels} channel(s) gives the bytes sharp gives`, async () => {
        const bytes = await make();
        const header = await readImageHeader(bytes, 1e6);
        expect(header).toMatchObject({ width: 13, height: 9 });
        const target = { height: 9, width: 13, channels, sizeMode: 'resize' as const };
        const viaSharp = await convertWithSharp(bytes, header, target, 1e6);
        expect(viaSharp.length).toBe(13 * 9 * channels);
        expect(Buffer.compare(await convertImage(bytes, target, 1e6), viaSharp)).toBe(0);
        // Also when the header was read in an earlier pass.
        expect(Buffer.compare(await convertImage(bytes, target, 1e6, header), viaSharp)).toBe(0);
      });
    }
  }

  it('reads the same header from the IHDR chunk as sharp does', async () => {
    for (const [kind, make] of Object.entries(variants)) {
      const bytes = await make();
      const meta = await sharp(bytes).metadata();
      const header = await readImageHeader(bytes, 1e6);
      expect({ kind, ...header }).toEqual({ kind, format: 'png', width: meta.width, height: meta.height, channels: (meta.channels ?? 0) - (meta.hasAlpha ? 1 : 0) >= 3 ? 3 : 1 });
    }
  });

  it('refuses a PNG declaring more pixels than the cap before decoding it', async () => {
    const bytes = await variants.grey!();
    await expect(readImageHeader(bytes, 100)).rejects.toThrow(/image too large to decode/);
    await expect(convertImage(bytes, { height: 9, width: 13, channels: 1, sizeMode: 'resize' }, 100)).rejects.toThrow(/image too large to decode/);
  });
});
