import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { checkDeclaredImageSize, jpegHeader } from '../../src/data/image-size.js';

describe('jpegHeader', () => {
  it("reads a JPEG's declared size from its frame header, past the segments before it (EXIF, progressive too)", async () => {
    const image = sharp({ create: { width: 37, height: 21, channels: 3, background: '#808080' } });
    const baseline = await image.clone().jpeg().withMetadata({ exif: { IFD0: { Copyright: 'x'.repeat(300) } } }).toBuffer();
    expect(jpegHeader(baseline)).toEqual({ width: 37, height: 21 });
    expect(jpegHeader(await image.clone().jpeg({ progressive: true }).toBuffer())).toEqual({ width: 37, height: 21 });
    // A frame header that declares 60000x60000 (what a JPEG bomb looks like to a decoder).
    const lying = Buffer.from(baseline);
    const sof = lying.indexOf(Buffer.from([0xff, 0xc0]));
    lying.writeUInt16BE(60000, sof + 5);
    lying.writeUInt16BE(60000, sof + 7);
    expect(() => checkDeclaredImageSize(jpegHeader(lying), 2 ** 22)).toThrow(/declares 60000x60000 = 3600000000 pixels/);
    expect(() => jpegHeader(Buffer.from('not a jpeg'))).toThrow(/no JPEG signature/);
    expect(() => jpegHeader(baseline.subarray(0, 20))).toThrow(/no frame header/);
  });
});
