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
