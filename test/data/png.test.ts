import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { checkDeclaredImageSize, ImageSizeError } from '../../src/data/image-size.js';
import { encodePng, pngHeader } from '../../src/data/png.js';

describe('pngHeader', () => {
  it('reads the declared size from IHDR, lies included, and the cap refuses it before decoding', () => {
    const png = Buffer.from(encodePng([0, 0.5, 1, 0.25], 2, 2, 1));
    expect(pngHeader(png)).toMatchObject({ width: 2, height: 2 });
    expect(() => checkDeclaredImageSize(pngHeader(png), 3)).toThrow(ImageSizeError);
    // A header that lies: 2x2 data declaring 100000x100000 is refused by its header.
    png.writeUInt32BE(100000, 16);
    png.writeUInt32BE(100000, 20);
    png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
    expect(() => checkDeclaredImageSize(pngHeader(png), 2 ** 22)).toThrow(/declares 100000x100000 = 10000000000 pixels; at most 4194304/);
    expect(() => pngHeader(Buffer.from('GIF89a not a png at all....'))).toThrow(/no PNG signature/);
  });
});
