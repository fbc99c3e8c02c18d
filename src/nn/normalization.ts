import type { DatasetSource, Split } from './dataset-source.js';
import { wholeDatasetBatchSize } from './memory.js';
import type { Normalization, Size3 } from './spec.js';
import { yieldToEventLoop } from './yield.js';

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

/**
 * The statistics of a split, in one streamed pass of wholeDatasetBatchSize images at a time (the
 * images in stored order, so the sums are those of one pass over the whole array).
 */
export async function normalizationStatistics(kind: Normalization, source: DatasetSource, split: Split): Promise<NormalizationStatistics | null> {
  if (kind === 'none') return null;
  const [h, w, c] = (await source.describe()).size;
  const per = h * w * c;
  let count = 0;
  const sum = new Float64Array(kind === 'zerocenter' ? per : c);
  const sumSq = new Float64Array(c);
  const min = new Float64Array(c).fill(Infinity);
  const max = new Float64Array(c).fill(-Infinity);
  for await (const { images, count: n } of source.batches(split, { batchSize: wholeDatasetBatchSize })) {
    if (kind === 'zerocenter') {
      for (let base = 0; base < n * per; base += per) for (let i = 0; i < per; i++) sum[i]! += images[base + i]!;
    } else {
      for (let ch = 0; ch < c; ch++) {
        let s = sum[ch]!;
        let sq = sumSq[ch]!;
        let lo = min[ch]!;
        let hi = max[ch]!;
        for (let i = ch; i < n * per; i += c) {
          const v = images[i]!;
          s += v;
          sq += v * v;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        sum[ch] = s;
        sumSq[ch] = sq;
        min[ch] = lo;
        max[ch] = hi;
      }
    }
    count += n;
    await yieldToEventLoop();
  }
  if (kind === 'zerocenter') return { offset: Float32Array.from(sum, (s) => s / count), offsetShape: [h, w, c], scale: new Float32Array(c).fill(1) };
  const offset = new Float32Array(c);
  const scale = new Float32Array(c);
  const values = count * h * w;
  for (let ch = 0; ch < c; ch++) {
    if (kind === 'zscore') {
      const mean = sum[ch]! / values;
      const std = Math.sqrt(Math.max(0, sumSq[ch]! / values - mean * mean));
      offset[ch] = mean;
      scale[ch] = std > 0 ? 1 / std : 1;
    } else {
      offset[ch] = min[ch]!;
      scale[ch] = max[ch]! > min[ch]! ? 1 / (max[ch]! - min[ch]!) : 1;
    }
  }
  return { offset, offsetShape: [1, 1, c], scale };
}
