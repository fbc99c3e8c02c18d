import type { DatasetSource, Split } from '../nn/dataset-source.js';
import { wholeDatasetBatchSize } from '../nn/memory.js';
import type { Size3 } from '../nn/shapes.js';
import { yieldToEventLoop } from '../nn/yield.js';

/**
 * What the training images looked like, kept in the model's manifest so predict can tell a request
 * whose images are far from them (another polarity, another value range) instead of answering
 * wrongly in silence. All channels count together, as brightness.
 */
export interface ImageStatistics {
  /** Lowest and highest value of any pixel. */
  min: number;
  max: number;
  /** Mean brightness of one image: its average over images, and the standard deviation across them. */
  imageMean: { mean: number; std: number };
  /** Mean of the border pixels (outermost rows and columns): the background level. */
  background: number;
  /** 'light-on-dark' when the background lies in the lower half of [min, max] (the digits: white on black). */
  polarity: 'light-on-dark' | 'dark-on-light';
}

/** One image's brightness, as the statistics measure it. */
export interface ImageMeasure {
  min: number;
  max: number;
  mean: number;
  background: number;
}

/** Measures the image at `index` of `images` (NHWC, float). */
export function measureImage(images: Float32Array, index: number, [h, w, c]: Size3): ImageMeasure {
  const base = index * h * w * c;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let border = 0;
  let borderCount = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const onBorder = y === 0 || x === 0 || y === h - 1 || x === w - 1;
      for (let ch = 0; ch < c; ch++) {
        const v = images[base + (y * w + x) * c + ch]!;
        if (v < min) min = v;
        if (v > max) max = v;
        sum += v;
        if (onBorder) {
          border += v;
          borderCount += 1;
        }
      }
    }
  }
  return { min, max, mean: sum / (h * w * c), background: border / borderCount };
}

/**
 * The statistics of a split's images, in one streamed pass of wholeDatasetBatchSize images at a
 * time (float64 sums, so the count does not cost precision).
 */
export async function imageStatistics(source: DatasetSource, split: Split): Promise<ImageStatistics> {
  const { size } = await source.describe();
  const statistics = new StatisticsAccumulator(size);
  for await (const batch of source.batches(split, { batchSize: wholeDatasetBatchSize })) {
    statistics.add(batch.images, batch.count);
    await yieldToEventLoop();
  }
  return statistics.result();
}

/** imageStatistics gathered batch by batch, for passes that are not a DatasetSource's (ingestion, shard by shard). */
export class StatisticsAccumulator {
  private count = 0;
  private min = Infinity;
  private max = -Infinity;
  private sum = 0;
  private sumSq = 0;
  private background = 0;

  constructor(private readonly size: Size3) {}

  /** Adds `count` images of `size`, one after another in `images`. */
  add(images: Float32Array, count: number): void {
    for (let n = 0; n < count; n++) {
      const m = measureImage(images, n, this.size);
      this.min = Math.min(this.min, m.min);
      this.max = Math.max(this.max, m.max);
      this.sum += m.mean;
      this.sumSq += m.mean * m.mean;
      this.background += m.background;
    }
    this.count += count;
  }

  result(): ImageStatistics {
    const mean = this.sum / this.count;
    const background = this.background / this.count;
    return {
      min: this.min,
      max: this.max,
      imageMean: { mean, std: Math.sqrt(Math.max(0, this.sumSq / this.count - mean * mean)) },
      background,
      polarity: background <= (this.min + this.max) / 2 ? 'light-on-dark' : 'dark-on-light',
    };
  }
}

/**
 * Why an image looks unlike the training images, in sentences (none when it looks like them): its
 * background on the other side of the value range (a black digit on white for a model of white
 * digits on black), or a mean brightness more than four standard deviations (and a tenth of the
 * range) from the training images' average.
 */
export function unlikeTraining(image: ImageMeasure, stats: ImageStatistics): string[] {
  const warnings: string[] = [];
  const middle = (stats.min + stats.max) / 2;
  const light = image.background > middle;
  if (light !== (stats.polarity === 'dark-on-light')) {
    const trained = stats.polarity === 'light-on-dark' ? 'light on a dark background' : 'dark on a light background';
    warnings.push(
      `the image's background (border mean ${round(image.background)}) is ${light ? 'light' : 'dark'}; the model was trained on images ${trained} (border mean ${round(stats.background)}): invert the image?`,
    );
  }
  const far = Math.max(4 * stats.imageMean.std, 0.1 * (stats.max - stats.min));
  if (Math.abs(image.mean - stats.imageMean.mean) > far) {
    warnings.push(
      `the image's mean brightness ${round(image.mean)} is far from the training images' ${round(stats.imageMean.mean)} (standard deviation ${round(stats.imageMean.std)}): the prediction is unlikely to mean much`,
    );
  }
  return warnings;
}

const round = (v: number) => Math.round(v * 1000) / 1000;
