import type { Dataset } from '../src/data/dataset.js';
import type { DatasetSplits } from '../src/data/in-memory-source.js';
import type { Size3 } from '../src/nn/spec.js';

/**
 * The data a benchmark network trains on, by its input size: the digits for 28x28x1 and, as no RGB
 * dataset ships with trainyard, the digits made 32x32x3 for networks that take colour images.
 */
export function benchData(digits: DatasetSplits, size: Size3): DatasetSplits {
  const key = size.join('x');
  if (key === '28x28x1') return digits;
  if (key === '32x32x3') return { train: rgbDigits(digits.train), test: rgbDigits(digits.test) };
  throw new Error(`no benchmark data for ${key} inputs (28x28x1 and 32x32x3 only)`);
}

/** The digits as 32x32x3: a 2-pixel border; the image, its negative and a copy shifted one column right. */
function rgbDigits(data: Dataset): Dataset {
  const [h, w] = data.size;
  const side = h + 4;
  const images = new Float32Array(data.count * side * side * 3);
  for (let n = 0; n < data.count; n++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = data.images[(n * h + y) * w + x]!;
        const shifted = x > 0 ? data.images[(n * h + y) * w + x - 1]! : 0;
        images.set([v, 1 - v, shifted], ((n * side + y + 2) * side + x + 2) * 3);
      }
    }
  }
  return { ...data, images, size: [side, side, 3] };
}
