import { monitorEventLoopDelay } from 'node:perf_hooks';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { imageInput } from '../../src/api/models/predict.js';
import { HttpProblem } from '../../src/api/problem.js';
import type { ModelManifest } from '../../src/store/models.js';

/** Just what conversion reads of a model's manifest. */
const model = (inputSize: [number, number, number], sizeMode?: 'resize' | 'centercrop') =>
  ({ inputSize, ...(sizeMode ? { dataset: { id: 'd', name: 'd', sizeMode } } : {}) }) as unknown as ModelManifest;

/** An RGB(A) image from a function of (x, y) giving [r, g, b, a?]. */
function rgb(width: number, height: number, at: (x: number, y: number) => number[], channels: 3 | 4 = 3) {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(at(x, y).slice(0, channels), (y * width + x) * channels);
  return sharp(data, { raw: { width, height, channels } });
}

const problemOf = (promise: Promise<unknown>) => promise.then(() => null, (err: unknown) => err as HttpProblem);
const values = (pixels: Float32Array) => Array.from(pixels, (v) => Math.round(v * 255));

describe("predict's image conversion", () => {
  it('resizes to the model size, or centre-crops when its dataset was centre-cropped', async () => {
    // 16 wide, 4 high: two black columns on the left, two white on the right, grey 128 between.
    const png = await rgb(16, 4, (x) => (x < 2 ? [0, 0, 0] : x < 14 ? [128, 128, 128] : [255, 255, 255])).png().toBuffer();
    const resized = await imageInput(png, 'png', model([2, 2, 1], 'resize'), 1e6);
    const cropped = await imageInput(png, 'png', model([2, 2, 1], 'centercrop'), 1e6);
    expect(resized.original).toEqual({ width: 16, height: 4 });
    // Stretched, each output pixel averages black or white with grey; cropped, only the grey middle remains.
    expect(values(resized.pixels)[0]).toBeLessThan(120);
    expect(values(resized.pixels)[1]).toBeGreaterThan(136);
    expect(values(cropped.pixels)).toEqual([128, 128, 128, 128]);
    // A model without a recorded dataset (trained before it was recorded) resizes.
    expect((await imageInput(png, 'png', model([2, 2, 1]), 1e6)).pixels).toEqual(resized.pixels);
  });

  it('brings colour to grey and grey to colour, and drops alpha as ingestion does', async () => {
    const red = await rgb(4, 4, () => [255, 0, 0]).jpeg({ quality: 100 }).toBuffer();
    const grey = (await imageInput(red, 'jpeg', model([4, 4, 1]), 1e6)).pixels;
    expect(grey).toHaveLength(16);
    // Luminance of pure red (0.21 of white in linear light, about half-way once gamma-encoded), whatever the exact weights.
    expect(values(grey)[0]).toBeGreaterThan(100);
    expect(values(grey)[0]).toBeLessThan(140);
    const greyPng = await sharp(Buffer.alloc(16, 200), { raw: { width: 4, height: 4, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    expect(values((await imageInput(greyPng, 'png', model([4, 4, 3]), 1e6)).pixels)).toEqual(new Array(48).fill(200));
    const halfTransparentWhite = await rgb(4, 4, () => [255, 255, 255, 128], 4).png().toBuffer();
    expect(values((await imageInput(halfTransparentWhite, 'png', model([4, 4, 1]), 1e6)).pixels)).toEqual(new Array(16).fill(255));
  });

  it('answers 400 saying why when an image cannot be converted, and 415 for a model no image can feed', async () => {
    const png = await rgb(4, 4, () => [0, 0, 0]).png().toBuffer();
    const truncated = await problemOf(imageInput(png.subarray(0, 40), 'png', model([4, 4, 1]), 1e6));
    expect(truncated).toMatchObject({ status: 400, message: 'the body is not a readable PNG image' });
    expect(truncated!.extensions['errors']).toEqual([{ path: 'body', message: expect.stringMatching(/^body: not a readable PNG image \((not a readable|corrupt) image/) }]);
    const tooLarge = await problemOf(imageInput(png, 'png', model([4, 4, 1]), 15));
    expect(tooLarge).toMatchObject({ status: 400, message: 'the image declares 4x4 = 16 pixels; at most 15 are decoded (MAX_IMAGE_PIXELS)' });
    expect(await problemOf(imageInput(png, 'png', model([4, 4, 2]), 1e6))).toMatchObject({ status: 415 });
  });

  it('decodes a large image off the event loop', async () => {
    const side = 2048;
    const big = await sharp({ create: { width: side, height: side, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 128, sigma: 60 } } }).jpeg({ quality: 90 }).toBuffer();
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const converted = await Promise.all(Array.from({ length: 4 }, () => imageInput(big, 'jpeg', model([28, 28, 1]), side * side)));
    loop.disable();
    expect(converted.every((c) => c.pixels.length === 784)).toBe(true);
    // Four 4-megapixel decodes take seconds of CPU here; on the loop they would have held it that long.
    expect(loop.max / 1e6).toBeLessThan(200);
  });
});
