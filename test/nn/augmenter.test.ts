import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Augmenter, inverseAffine, warpBilinear, type Transform } from '../../src/nn/augmenter.js';
import { validateTrainingOptions } from '../../src/nn/options.js';
import { train } from '../../src/nn/train.js';
import { onCpu, useTestBackend } from '../helpers/backend.js';
import { digits, network, options } from '../helpers/data.js';

beforeAll(useTestBackend);

const none: Transform = { reflectX: false, reflectY: false, rotation: 0, scale: 1, translateX: 0, translateY: 0 };

/** A 5x7 image, 2 channels, every value distinct, so any misplaced pixel shows. */
const [H, W, C] = [5, 7, 2];
const image = Float32Array.from({ length: H * W * C }, (_, i) => 1 + i);
const at = (img: Float32Array, y: number, x: number, k: number) => img[(y * W + x) * C + k]!;

function warp(t: Partial<Transform>, src = image, h = H, w = W, ch = C): Float32Array {
  const out = new Float32Array(h * w * ch);
  warpBilinear(src, out, h, w, ch, inverseAffine({ ...none, ...t }, h, w));
  return out;
}

describe('warpBilinear with inverseAffine', () => {
  it('copies exactly under the identity', () => {
    expect(warp({})).toEqual(image);
  });

  it('reflects exactly: x mirrors columns, y mirrors rows, both turns the image half round', () => {
    const x = warp({ reflectX: true });
    const y = warp({ reflectY: true });
    const xy = warp({ reflectX: true, reflectY: true });
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        for (let k = 0; k < C; k++) {
          expect(at(x, r, c, k)).toBe(at(image, r, W - 1 - c, k));
          expect(at(y, r, c, k)).toBe(at(image, H - 1 - r, c, k));
          expect(at(xy, r, c, k)).toBe(at(image, H - 1 - r, W - 1 - c, k));
        }
      }
    }
  });

  it('translates by whole pixels exactly, filling with 0', () => {
    const out = warp({ translateX: 2, translateY: -1 });
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        for (let k = 0; k < C; k++) {
          const [sr, sc] = [r + 1, c - 2];
          const inside = sr < H && sc >= 0;
          expect(at(out, r, c, k)).toBe(inside ? at(image, sr, sc, k) : 0);
        }
      }
    }
  });

  it('turns 90 degrees counter-clockwise as imrotate does (square image)', () => {
    const n = 6;
    const square = Float32Array.from({ length: n * n }, (_, i) => i);
    const out = warp({ rotation: 90 }, square, n, n, 1);
    // The top row of the result is the right column of the source, read from the top down.
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) expect(out[r * n + c]).toBeCloseTo(square[c * n + (n - 1 - r)]!, 4);
  });

  it("agrees with tf.image.transform's bilinear constant-fill warp for a rotation, scale and fractional translation", async () => {
    const h = 28;
    const w = 28;
    const src = Float32Array.from({ length: h * w }, (_, i) => Math.sin(i * 0.37) * 0.5 + 0.5);
    for (const t of [
      { rotation: 23.5, scale: 1.13, translateX: 1.7, translateY: -2.25 },
      { rotation: -71, scale: 0.8, translateX: -3.4, translateY: 0.5, reflectX: true },
    ]) {
      const ours = warp(t, src, h, w, 1);
      const m = inverseAffine({ ...none, ...t }, h, w);
      const reference = await onCpu(() =>
        tf.tidy(() => tf.image.transform(tf.tensor4d(src, [1, h, w, 1]), tf.tensor2d([[m.a, m.b, m.e, m.c, m.d, m.f, 0, 0]]), 'bilinear', 'constant', 0)).data(),
      );
      for (let i = 0; i < ours.length; i++) expect(ours[i]).toBeCloseTo(reference[i]!, 4);
    }
  });
});

describe('Augmenter', () => {
  const all = { randXReflection: true, randYReflection: true, randRotation: [-20, 20], randScale: [0.9, 1.1], randXTranslation: [-3, 3], randYTranslation: [-3, 3] };
  const augmentation = (o: Record<string, unknown>) => options({ augmentation: o }).augmentation!;

  it('draws the same transforms from the same seed, and others from another', async () => {
    const { train: data } = await digits(16, 1);
    const batch = data.images.subarray(0, 16 * 784);
    const run = (seed: number) => Array.from(new Augmenter(augmentation(all), [28, 28, 1], seed).apply(batch, 16));
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    expect(run(7)).not.toEqual(Array.from(batch));
  });

  it('leaves the images as they are when every option is at its default', async () => {
    const { train: data } = await digits(8, 1);
    const batch = data.images.subarray(0, 8 * 784);
    expect(new Augmenter(augmentation({}), [28, 28, 1], 3).apply(batch, 8)).toEqual(batch);
  });

  it('reflects about half of the images', () => {
    const n = 2000;
    const src = Float32Array.from({ length: n * 2 }, (_, i) => i % 2);
    const out = new Augmenter(augmentation({ randXReflection: true }), [1, 2, 1], 11).apply(src, n);
    let reflected = 0;
    for (let i = 0; i < n; i++) if (out[2 * i] === 1) reflected++;
    expect(reflected / n).toBeGreaterThan(0.45);
    expect(reflected / n).toBeLessThan(0.55);
  });
});

describe('options.augmentation', () => {
  const problems = (augmentation: unknown) => {
    const r = validateTrainingOptions({ augmentation });
    return r.ok ? [] : r.problems;
  };

  it('is off unless asked for, and fills MATLAB defaults', () => {
    expect(options().augmentation).toBeNull();
    expect(options({ augmentation: { randXReflection: true } }).augmentation).toEqual({
      randXReflection: true,
      randYReflection: false,
      randRotation: [0, 0],
      randScale: [1, 1],
      randXTranslation: [0, 0],
      randYTranslation: [0, 0],
    });
  });

  it('names the field and what was expected', () => {
    expect(problems({ randRotation: [10, -10] })).toEqual([
      { path: 'options.augmentation.randRotation', message: expect.stringMatching(/min not above max, not \[10, -10\]/) as string },
    ]);
    expect(problems({ randScale: [0, 1] })[0]).toMatchObject({ path: 'options.augmentation.randScale', message: expect.stringMatching(/greater than 0/) as string });
    expect(problems({ randXTranslation: 3 })[0]).toMatchObject({ path: 'options.augmentation.randXTranslation', message: expect.stringMatching(/pair of finite numbers/) as string });
    expect(problems({ randYReflection: 'yes' })[0]).toMatchObject({ path: 'options.augmentation.randYReflection' });
    expect(problems({ randShear: [0, 1] })[0]).toMatchObject({ path: 'options.augmentation.randShear', message: expect.stringMatching(/unknown field/) as string });
    expect(problems([1])[0]).toMatchObject({ path: 'options.augmentation', message: expect.stringMatching(/must be an object/) as string });
  });
});

describe('training with augmentation', () => {
  const settings = { miniBatchSize: 32, maxEpochs: 3, seed: 42 };
  const losses = async (extra: Record<string, unknown>) => {
    const data = await digits(256);
    const result = await train(network(), { source: data.source }, options({ ...settings, ...extra }), {});
    const accuracy = (await result.classifier.evaluate(data.source, 'test')).accuracy;
    result.classifier.dispose();
    return { accuracy, loss: result.last!.miniBatchLoss };
  };

  it('is the plain run when every option is at its default, reproducible with a seed, and still learns', async () => {
    const plain = await losses({});
    expect(await losses({ augmentation: {} })).toEqual(plain);
    const augmentation = { randRotation: [-10, 10], randScale: [0.9, 1.1], randXTranslation: [-2, 2], randYTranslation: [-2, 2] };
    const a = await losses({ augmentation });
    expect(await losses({ augmentation })).toEqual(a);
    expect(a.loss).not.toBe(plain.loss);
    expect(a.accuracy).toBeGreaterThan(0.5);
  });
});
