import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset } from '../src/data/dataset.js';
import { loadDigits } from '../src/data/digits.js';
import type { DatasetSplits } from '../src/data/in-memory-source.js';
import type { Size3 } from '../src/nn/spec.js';

/**
 * Train and test splits as the raw files the PyTorch references read (torch_seed.py,
 * torch_zoo.py): float32 NHWC images `<split>-x.f32` and uint8 labels `<split>-y.u8` in one
 * folder, so that both sides train on the same bytes.
 */
const splitNames = ['train', 'test'] as const;

export function rawFiles(dir: string): Record<'train-x' | 'train-y' | 'test-x' | 'test-y', string> {
  return {
    'train-x': path.join(dir, 'train-x.f32'),
    'train-y': path.join(dir, 'train-y.u8'),
    'test-x': path.join(dir, 'test-x.f32'),
    'test-y': path.join(dir, 'test-y.u8'),
  };
}

export async function writeRawSplits(dir: string, splits: DatasetSplits): Promise<ReturnType<typeof rawFiles>> {
  await mkdir(dir, { recursive: true });
  const files = rawFiles(dir);
  for (const name of splitNames) {
    const { images, labels } = splits[name];
    await writeFile(files[`${name}-x`], new Uint8Array(images.buffer, images.byteOffset, images.byteLength));
    await writeFile(files[`${name}-y`], labels);
  }
  return files;
}

export async function readRawSplits(dir: string, size: Size3, classes: string[]): Promise<DatasetSplits> {
  const files = rawFiles(dir);
  const read = async (name: (typeof splitNames)[number]): Promise<Dataset> => {
    const labels = new Uint8Array(await readFile(files[`${name}-y`]));
    const bytes = await readFile(files[`${name}-x`]);
    const images = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    if (images.length !== labels.length * size[0] * size[1] * size[2]) throw new Error(`${files[`${name}-x`]} does not hold ${labels.length} images of ${size.join('x')}`);
    return { images, labels, count: labels.length, size, classes };
  };
  return { train: await read('train'), test: await read('test') };
}

/** The digits as the raw files torch_seed.py reads, keyed by its command-line flags. */
export async function exportDigits(dir: string): Promise<Record<string, string>> {
  const files = await writeRawSplits(dir, await loadDigits());
  return Object.fromEntries(Object.entries(files).map(([key, file]) => [`--${key}`, file]));
}
