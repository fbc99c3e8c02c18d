import type { Dataset } from '../data/dataset.js';
import type { Normalization, Size3 } from './spec.js';

/**
 * Input normalisation statistics of a training set, as `(x - offset) * scale`:
 *   zerocenter        offset = the mean image (h x w x c), scale = 1
 *   zscore            offset = per-channel mean, scale = 1 / per-channel standard deviation
 *   rescale-zero-one  offset = per-channel minimum, scale = 1 / (maximum - minimum)
 * Sums run in float64 so 5000 images or 5 million give the same precision.
 */
export interface NormalizationStatistics {
  offset: Float32Array;
  offsetShape: Size3;
  scale: Float32Array;
}

export function normalizationStatistics(kind: Normalization, data: Dataset): NormalizationStatistics | null {
  const [h, w, c] = data.size;
  const per = h * w * c;
  const { images, count } = data;
  if (kind === 'none') return null;
  if (kind === 'zerocenter') {
    const sum = new Float64Array(per);
    for (let n = 0; n < count; n++) {
      const base = n * per;
      for (let i = 0; i < per; i++) sum[i]! += images[base + i]!;
    }
    return { offset: Float32Array.from(sum, (s) => s / count), offsetShape: [h, w, c], scale: new Float32Array(c).fill(1) };
  }
  const offset = new Float32Array(c);
  const scale = new Float32Array(c);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    let sumSq = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = ch; i < count * per; i += c) {
      const v = images[i]!;
      sum += v;
      sumSq += v * v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const values = count * h * w;
    if (kind === 'zscore') {
      const mean = sum / values;
      const std = Math.sqrt(Math.max(0, sumSq / values - mean * mean));
      offset[ch] = mean;
      scale[ch] = std > 0 ? 1 / std : 1;
    } else {
      offset[ch] = min;
      scale[ch] = max > min ? 1 / (max - min) : 1;
    }
  }
  return { offset, offsetShape: [1, 1, c], scale };
}
