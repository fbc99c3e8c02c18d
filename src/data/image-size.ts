/**
 * The one pixel-count cap every image decoder applies to the size an image declares, before it
 * decodes anything: a small file can declare a huge image (a "PNG bomb"), and decoding it would
 * allocate width x height x 4 bytes and hold the event loop for as long as that takes.
 */
export class ImageSizeError extends Error {
  constructor(
    message: string,
    readonly declared: { width: number; height: number },
  ) {
    super(message);
    this.name = 'ImageSizeError';
  }
}

/** Throws an ImageSizeError when the declared size is empty or has more than `maxPixels` pixels. */
export function checkDeclaredImageSize(declared: { width: number; height: number }, maxPixels: number): void {
  const { width, height } = declared;
  if (!(width >= 1 && height >= 1)) throw new ImageSizeError(`the image declares an empty size ${width}x${height}`, declared);
  if (width * height > maxPixels) {
    throw new ImageSizeError(`the image declares ${width}x${height} = ${width * height} pixels; at most ${maxPixels} are decoded (MAX_IMAGE_PIXELS)`, declared);
  }
}

/**
 * Width and height as a JPEG's frame header (its SOFn segment) declares them, without decoding:
 * the segments before it are skipped by their lengths.
 */
export function jpegHeader(buffer: Buffer): { width: number; height: number } {
  if (buffer.length < 4 || buffer[0] !== 0xff || buffer[1] !== 0xd8) throw new Error('no JPEG signature');
  let at = 2;
  while (at + 4 <= buffer.length) {
    if (buffer[at] !== 0xff) throw new Error(`no segment marker at byte ${at}`);
    const marker = buffer[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // a marker without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break; // end of image, or scan data before any frame header
    const length = buffer.readUInt16BE(at + 2);
    if (length < 2) throw new Error(`a segment declares length ${length}`);
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (at + 9 > buffer.length) break;
      return { height: buffer.readUInt16BE(at + 5), width: buffer.readUInt16BE(at + 7) };
    }
    at += 2 + length;
  }
  throw new Error('no frame header (SOF) before the image data');
}
