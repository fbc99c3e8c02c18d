import type { Size3 } from '../nn/shapes.js';

/**
 * Labelled images in memory: `images` holds `count` images of `size` (height, width, channels)
 * one after another, row-major, channels last (NHWC), as float32; `labels[i]` indexes `classes`.
 */
export interface Dataset {
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  size: Size3;
  classes: string[];
}

/** The images and labels at the given positions, copied into one new dataset. */
export function subset(data: Dataset, indices: ArrayLike<number>): Dataset {
  const per = data.size[0] * data.size[1] * data.size[2];
  const images = new Float32Array(indices.length * per);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!;
    images.set(data.images.subarray(k * per, (k + 1) * per), i * per);
    labels[i] = data.labels[k]!;
  }
  return { images, labels, count: indices.length, size: data.size, classes: data.classes };
}

/** The first n images (all of them when n is larger). */
export function take(data: Dataset, n: number): Dataset {
  const count = Math.min(n, data.count);
  return subset(data, Array.from({ length: count }, (_, i) => i));
}
