import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadDigits } from '../src/data/digits.js';

/** The raw files torch_seed.py reads: float32 images [N,28,28,1] and uint8 labels. */
export async function exportDigits(dir: string): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const { train, test } = await loadDigits();
  const files = {
    '--train-x': path.join(dir, 'train-x.f32'),
    '--train-y': path.join(dir, 'train-y.u8'),
    '--test-x': path.join(dir, 'test-x.f32'),
    '--test-y': path.join(dir, 'test-y.u8'),
  };
  await writeFile(files['--train-x'], new Uint8Array(train.images.buffer, train.images.byteOffset, train.images.byteLength));
  await writeFile(files['--train-y'], train.labels);
  await writeFile(files['--test-x'], new Uint8Array(test.images.buffer, test.images.byteOffset, test.images.byteLength));
  await writeFile(files['--test-y'], test.labels);
  return files;
}
