import { measureImage, unlikeTraining, type ImageStatistics } from '../../data/image-statistics.js';
import { checkDeclaredImageSize, ImageSizeError, jpegHeader } from '../../data/image-size.js';
import { convertImage, ImageSkip } from '../../data/ingest/images.js';
import { pngHeader } from '../../data/png.js';
import type { Classifier } from '../../nn/classifier.js';
import type { Problem } from '../../nn/problems.js';
import type { ModelManifest } from '../../store/models.js';
import { HttpProblem, invalid } from '../problem.js';
import { yieldToEventLoop } from '../../nn/yield.js';
import { predictChunk, readInstances } from './instances.js';

/** The images of one predict request, as the network will get them. */
export interface PredictInput {
  pixels: Float32Array;
  count: number;
  from: 'json' | ImageBodyFormat;
  /** What every JSON value was divided by (1 unless the request said `scale`). */
  scale: number;
  /** An image body's size as sent, before conversion. */
  original?: { width: number; height: number };
}

export type ImageBodyFormat = 'png' | 'jpeg';

/**
 * An image body (PNG or JPEG, any size) as the model's input, converted the way its dataset's
 * images were at ingestion (the same conversion: resize or centre crop to the model's size, grey
 * or colour to its channels, alpha dropped). Its header is read first: a size over
 * MAX_IMAGE_PIXELS is a 400 before a byte is decoded (a small file can declare a huge image).
 * sharp decodes and converts on libuv's threads, so a large image does not hold the event loop.
 */
export async function imageInput(buffer: Buffer, format: ImageBodyFormat, manifest: ModelManifest, maxPixels: number): Promise<PredictInput> {
  const [h, w, c] = manifest.inputSize;
  const kind = format.toUpperCase();
  if (c !== 1 && c !== 3) throw new HttpProblem(415, 'unsupported-media-type', 'Unsupported Media Type', `a ${kind} can feed a model of 1 or 3 channels; this one takes ${c}`);
  const unreadable = (reason: string) => invalid(`the body is not a readable ${kind} image`, [{ path: 'body', message: `body: not a readable ${kind} image (${reason})` }]);
  let declared;
  try {
    declared = format === 'png' ? pngHeader(buffer) : jpegHeader(buffer);
    checkDeclaredImageSize(declared, maxPixels);
  } catch (err) {
    if (err instanceof ImageSizeError) throw invalid(err.message, [{ path: 'body', message: `body: ${err.message}` }]);
    throw unreadable((err as Error).message);
  }
  let converted: Buffer;
  try {
    converted = await convertImage(buffer, { height: h, width: w, channels: c, sizeMode: manifest.dataset?.sizeMode ?? 'resize' }, maxPixels);
  } catch (err) {
    if (err instanceof ImageSkip) throw unreadable(err.message);
    throw err;
  }
  const pixels = new Float32Array(converted.length);
  for (let i = 0; i < converted.length; i++) pixels[i] = converted[i]! / 255;
  return { pixels, count: 1, from: format, scale: 1, original: { width: declared.width, height: declared.height } };
}

/**
 * JSON instances as the model's input, divided by `scale`. Values outside the training images'
 * range (0-255 sent to a model trained on 0-1) are a 400 naming the instance and the range, rather
 * than saturating the network in silence.
 */
export async function jsonInput(body: { instances: unknown[]; scale?: number }, manifest: ModelManifest): Promise<PredictInput> {
  const [h, w, c] = manifest.inputSize;
  const read = await readInstances(body.instances, [h, w, c]);
  if (read.problems.length > 0) throw invalid(`${read.problems.length} instance(s) do not have the model's input shape ${h}x${w}x${c}`, read.problems);
  const scale = body.scale ?? 1;
  const pixels = scale === 1 ? read.pixels : read.pixels.map((v) => v / scale);
  const stats = manifest.inputStatistics;
  if (stats) {
    const problems = outOfRange(pixels, body.instances.length, h * w * c, stats, scale);
    if (problems.length > 0) {
      const hint = stats.max <= 1 && scale === 1 ? ' (pixel values 0-255? add "scale": 255)' : '';
      throw invalid(`${problems.length} instance(s) have values outside the training images' range [${stats.min}, ${stats.max}]${hint}`, problems);
    }
  }
  return { pixels, count: body.instances.length, from: 'json', scale };
}

function outOfRange(pixels: Float32Array, count: number, per: number, stats: ImageStatistics, scale: number): Problem[] {
  // A little slack: values computed the same way as the training images may differ in the last digits.
  const slack = 1e-3 * (stats.max - stats.min);
  const problems: Problem[] = [];
  for (let i = 0; i < count; i++) {
    const at = pixels.subarray(i * per, (i + 1) * per).findIndex((v) => v < stats.min - slack || v > stats.max + slack);
    if (at < 0) continue;
    const path = `instances[${i}]`;
    const value = pixels[i * per + at]! * scale;
    const scaled = scale === 1 ? '' : ` (${value} / ${scale})`;
    problems.push({
      path,
      message: `${path}: value ${at} is ${value}${scaled}, outside [${stats.min}, ${stats.max}], the range of the images the model was trained on; send values in that range, or a "scale" to divide them by (255 for 0-255 pixels)`,
    });
  }
  return problems;
}

/**
 * The answer: what was fed to the network (size, value range, source, scale, and the training
 * images' statistics to compare with) and each prediction, with warnings when its image looks
 * unlike the training images (no warnings for models without recorded statistics). The network and
 * the descriptions take `predictChunk` images at a time, with the event loop let run between.
 */
export async function predictions(classifier: Classifier, manifest: ModelManifest, input: PredictInput) {
  const { pixels, count } = input;
  const probs = await classifier.predict(pixels, count, predictChunk);
  const k = classifier.classes.length;
  const stats = manifest.inputStatistics;
  let min = Infinity;
  let max = -Infinity;
  for (const v of pixels) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const [height, width, channels] = manifest.inputSize;
  return {
    modelId: manifest.id,
    input: { from: input.from, ...(input.original ? { original: input.original } : {}), height, width, channels, scale: input.scale, min, max, training: stats ?? null },
    predictions: await describeEach(count, (i) => {
      const row = probs.subarray(i * k, (i + 1) * k);
      let best = 0;
      for (let j = 1; j < k; j++) if (row[j]! > row[best]!) best = j;
      return {
        label: classifier.classes[best]!,
        probabilities: Object.fromEntries(classifier.classes.map((name, j) => [name, row[j]!])),
        warnings: stats ? unlikeTraining(measureImage(pixels, i, manifest.inputSize), stats) : [],
      };
    }),
  };
}

async function describeEach<T>(count: number, describe: (i: number) => T): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % predictChunk === 0) await yieldToEventLoop();
    out.push(describe(i));
  }
  return out;
}
