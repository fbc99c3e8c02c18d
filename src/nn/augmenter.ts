import type { AugmentationOptions } from './augmentation-options.js';
import { Random } from './random.js';
import type { Size3 } from './shapes.js';

/**
 * One image's transform as the inverse map from output pixel (x, y) to the source point it samples:
 * sx = a x + b y + e, sy = c x + d y + f (pixel centres at integer coordinates, y down).
 */
export interface InverseAffine {
  a: number;
  b: number;
  c: number;
  d: number;
  e: number;
  f: number;
}

/** The draws for one image, in the units of the options. */
export interface Transform {
  reflectX: boolean;
  reflectY: boolean;
  /** Degrees, counter-clockwise as the image is shown. */
  rotation: number;
  scale: number;
  translateX: number;
  translateY: number;
}

/**
 * MATLAB's composition about the image centre: reflect, rotate, scale, then translate,
 * as its inverse (what a warp that pulls each output pixel from the source needs).
 */
export function inverseAffine(t: Transform, height: number, width: number): InverseAffine {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const theta = (t.rotation * Math.PI) / 180;
  const cos = Math.cos(theta) / t.scale;
  const sin = Math.sin(theta) / t.scale;
  const fx = t.reflectX ? -1 : 1;
  const fy = t.reflectY ? -1 : 1;
  // Forward, y down: p' = c + t + S R F (p - c), R turning counter-clockwise on screen = [[cos, sin], [-sin, cos]].
  const a = fx * cos;
  const b = -fx * sin;
  const c = fy * sin;
  const d = fy * cos;
  const ox = cx + t.translateX;
  const oy = cy + t.translateY;
  return { a, b, c, d, e: cx - a * ox - b * oy, f: cy - c * ox - d * oy };
}

/**
 * Applies one random transform to every image of a mini-batch (imageDataAugmenter's semantics:
 * same output size, bilinear sampling, 0 outside the source), drawing from its own seeded
 * generator, so the same seed augments a run the same way. It writes into its own buffer: the
 * source's batch is read-only.
 */
export class Augmenter {
  private readonly random: Random;
  private buffer = new Float32Array(0);

  constructor(
    private readonly options: AugmentationOptions,
    private readonly size: Size3,
    seed: number,
  ) {
    this.random = new Random(seed);
  }

  /** Its generator's state, so a resumed run draws the same transforms as an uninterrupted one. */
  get randomState(): number {
    return this.random.state;
  }

  set randomState(value: number) {
    this.random.state = value;
  }

  /** `count` images (NHWC) transformed; valid until the next call. */
  apply(images: Float32Array, count: number): Float32Array {
    const [h, w, ch] = this.size;
    const per = h * w * ch;
    if (this.buffer.length !== count * per) this.buffer = new Float32Array(count * per);
    for (let i = 0; i < count; i++) {
      const m = inverseAffine(this.draw(), h, w);
      warpBilinear(images.subarray(i * per, (i + 1) * per), this.buffer.subarray(i * per, (i + 1) * per), h, w, ch, m);
    }
    return this.buffer;
  }

  /** Every field is drawn for every image, in one order, whatever the options: a run's draws depend only on its seed. */
  private draw(): Transform {
    const o = this.options;
    const r = this.random;
    const uniform = ([lo, hi]: [number, number]) => lo + (hi - lo) * r.next();
    const reflectX = r.next() < 0.5;
    const reflectY = r.next() < 0.5;
    return {
      reflectX: o.randXReflection && reflectX,
      reflectY: o.randYReflection && reflectY,
      rotation: uniform(o.randRotation),
      scale: uniform(o.randScale),
      translateX: uniform(o.randXTranslation),
      translateY: uniform(o.randYTranslation),
    };
  }
}

/**
 * out(x, y) = bilinear sample of src at m(x, y), neighbours outside the image counting as 0.
 * Whole-pixel maps (reflections, integer translations) land on pixel centres with zero weights
 * on the far neighbours, so they copy exactly.
 */
export function warpBilinear(src: Float32Array, out: Float32Array, h: number, w: number, ch: number, m: InverseAffine): void {
  const { a, b, c, d, e, f } = m;
  const row = w * ch;
  let o = 0;
  for (let y = 0; y < h; y++) {
    let sx = b * y + e;
    let sy = d * y + f;
    for (let x = 0; x < w; x++, sx += a, sy += c) {
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < -1 || x0 >= w || y0 < -1 || y0 >= h) {
        for (let k = 0; k < ch; k++) out[o++] = 0;
        continue;
      }
      const wx = sx - x0;
      const wy = sy - y0;
      const p = y0 * row + x0 * ch;
      if (x0 >= 0 && x0 + 1 < w && y0 >= 0 && y0 + 1 < h) {
        for (let k = 0; k < ch; k++) {
          const top = src[p + k]! + wx * (src[p + ch + k]! - src[p + k]!);
          const bottom = src[p + row + k]! + wx * (src[p + row + ch + k]! - src[p + row + k]!);
          out[o++] = top + wy * (bottom - top);
        }
        continue;
      }
      // At the border: each neighbour inside the image, weighted; those outside are 0.
      const left = x0 >= 0;
      const right = x0 + 1 < w;
      const up = y0 >= 0;
      const down = y0 + 1 < h;
      for (let k = 0; k < ch; k++) {
        let v = 0;
        if (up && left) v += (1 - wx) * (1 - wy) * src[p + k]!;
        if (up && right) v += wx * (1 - wy) * src[p + ch + k]!;
        if (down && left) v += (1 - wx) * wy * src[p + row + k]!;
        if (down && right) v += wx * wy * src[p + row + ch + k]!;
        out[o++] = v;
      }
    }
  }
}
