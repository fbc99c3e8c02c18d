import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestArchive, type IngestOptions } from '../../../src/data/ingest/ingest.js';
import { convertImage } from '../../../src/data/ingest/images.js';
import { defaultIngestLimits } from '../../../src/data/ingest/limits.js';
import { readAndVerify, ShardReader } from '../../../src/data/ingest/shard-reader.js';
import { directorySink, manifestName, type DatasetManifest } from '../../../src/data/ingest/shards.js';
import { IngestError } from '../../../src/data/ingest/skips.js';
import { greyPng, rgbJpeg, writeTar, writeZip, type TestEntry } from './archives.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ingest-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let n = 0;
async function ingest(entries: TestEntry[], options: Partial<IngestOptions> = {}, kind: 'zip' | 'tar.gz' = 'zip') {
  const id = `d${n++}`;
  const archive = path.join(dir, `${id}.${kind}`);
  if (kind === 'zip') await writeZip(archive, entries);
  else await writeTar(archive, entries, true);
  const out = path.join(dir, `${id}-out`);
  const manifest = await ingestArchive(archive, directorySink(out), { limits: defaultIngestLimits, seed: 7, ...options });
  const getObject = (name: string) => readFile(path.join(out, name));
  return { manifest, out, getObject };
}

/** Every image of a split with its label, in stored order. */
async function readAll(manifest: DatasetManifest, getObject: (n: string) => Promise<Uint8Array>, split: 'train' | 'test' | 'validation') {
  const reader = new ShardReader(manifest, readAndVerify(getObject));
  const labels: number[] = [];
  const images: number[][] = [];
  const per = manifest.size[0] * manifest.size[1] * manifest.size[2];
  for await (const b of reader.batches(split, { batchSize: 4 })) {
    for (let i = 0; i < b.count; i++) {
      labels.push(b.labels[i]!);
      images.push(Array.from(b.images.subarray(i * per, (i + 1) * per), (v) => Math.round(v * 255)));
    }
  }
  return { labels, images };
}

const classFolders = async (prefix: string, classes: Record<string, number[]>) =>
  (await Promise.all(Object.entries(classes).flatMap(([c, values]) => values.map(async (v) => ({ name: `${prefix}${c}/${v}.png`, bytes: await greyPng(v) }))))) as TestEntry[];

describe('layouts', () => {
  it('folder per label, one wrapping folder unwrapped, test split drawn per label', async () => {
    const entries = await classFolders('photos/', { cat: [1, 2, 3, 4, 5], dog: [11, 12, 13, 14, 15] });
    const { manifest, getObject } = await ingest(entries, { testFraction: 0.4 });
    expect(manifest.layout).toBe('folders');
    expect(manifest.classes).toEqual(['cat', 'dog']);
    expect(manifest.size).toEqual([8, 8, 1]);
    expect(manifest.sizeFrom).toBe('most common');
    expect(manifest.splits.train.perClass).toEqual([3, 3]);
    expect(manifest.splits.test.perClass).toEqual([2, 2]);
    expect(manifest.testSplit).toEqual({ drawn: true, testFraction: 0.4, seed: 7 });
    // Each stored image is its source's pixels, under the label of its folder.
    const { labels, images } = await readAll(manifest, getObject, 'train');
    for (let i = 0; i < labels.length; i++) expect(images[i]![0]! < 11 ? 0 : 1).toBe(labels[i]);
  });

  it('explicit train/test/validation folders', async () => {
    const entries = [
      ...(await classFolders('train/', { a: [1, 2, 3], b: [21, 22] })),
      ...(await classFolders('test/', { a: [4], b: [23] })),
      ...(await classFolders('validation/', { a: [5], b: [24] })),
      { name: 'README.txt', bytes: Buffer.from('hi') },
    ];
    const { manifest } = await ingest(entries, {}, 'tar.gz');
    expect(manifest.layout).toBe('split-folders');
    expect(manifest.testSplit).toEqual({ drawn: false });
    expect(manifest.splits.train.perClass).toEqual([3, 2]);
    expect(manifest.splits.test.perClass).toEqual([1, 1]);
    expect(manifest.splits.validation?.perClass).toEqual([1, 1]);
    expect(manifest.skipped).toEqual([{ reason: 'outside the train/test/validation folders', count: 1, examples: ['README.txt'] }]);
  });

  it('labels.csv beside the images', async () => {
    const entries: TestEntry[] = [
      { name: 'labels.csv', bytes: Buffer.from('path,label\nimg/1.png,x\n"img/2.png",y\nimg/3.png,x\nimg/4.png,y\nimg/gone.png,x\n') },
      ...(await Promise.all([1, 2, 3, 4, 5].map(async (v) => ({ name: `img/${v}.png`, bytes: await greyPng(v * 10) })))),
    ];
    const { manifest } = await ingest(entries, { testFraction: 0.5 });
    expect(manifest.layout).toBe('labels-csv');
    expect(manifest.classes).toEqual(['x', 'y']);
    expect(manifest.splits.train.count + manifest.splits.test.count).toBe(4);
    const reasons = Object.fromEntries(manifest.skipped.map((s) => [s.reason, s.examples]));
    expect(reasons['not listed in labels.csv']).toEqual(['img/5.png']);
    expect(reasons['listed in labels.csv but not in the archive']).toEqual(['img/gone.png']);
  });

  it('MNIST IDX pairs, gzipped, train-/t10k- naming', async () => {
    const idx = (count: number, offset: number) => {
      const images = Buffer.alloc(16 + count * 4 * 3);
      images.writeUInt32BE(0x00000803, 0);
      images.writeUInt32BE(count, 4);
      images.writeUInt32BE(4, 8);
      images.writeUInt32BE(3, 12);
      const labels = Buffer.alloc(8 + count);
      labels.writeUInt32BE(0x00000801, 0);
      labels.writeUInt32BE(count, 4);
      for (let i = 0; i < count; i++) {
        images.fill(offset + i, 16 + i * 12, 16 + (i + 1) * 12);
        labels[8 + i] = i % 3;
      }
      return { images, labels };
    };
    const train = idx(9, 0);
    const test = idx(3, 100);
    const { manifest, getObject } = await ingest([
      { name: 'mnist/train-images-idx3-ubyte.gz', bytes: gzipSync(train.images) },
      { name: 'mnist/train-labels-idx1-ubyte.gz', bytes: gzipSync(train.labels) },
      { name: 'mnist/t10k-images-idx3-ubyte', bytes: test.images },
      { name: 'mnist/t10k-labels-idx1-ubyte', bytes: test.labels },
    ]);
    expect(manifest.layout).toBe('idx');
    expect(manifest.classes).toEqual(['0', '1', '2']);
    expect(manifest.size).toEqual([4, 3, 1]);
    expect(manifest.splits.train.perClass).toEqual([3, 3, 3]);
    expect(manifest.splits.test.perClass).toEqual([1, 1, 1]);
    const { labels, images } = await readAll(manifest, getObject, 'test');
    for (let i = 0; i < 3; i++) expect(images[i]![0]! - 100).toBe(labels[i]);
  });

  it('an IDX file whose declared size disagrees with its bytes is refused', async () => {
    const images = Buffer.alloc(16 + 10);
    images.writeUInt32BE(0x00000803, 0);
    images.writeUInt32BE(1000, 4);
    images.writeUInt32BE(28, 8);
    images.writeUInt32BE(28, 12);
    const labels = Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 0]);
    await expect(ingest([{ name: 'train-images-idx3-ubyte', bytes: images }, { name: 'train-labels-idx1-ubyte', bytes: labels }])).rejects.toThrow(/declares 1000 x 28 x 28/);
  });
});

describe('bad images and classes', () => {
  it('a corrupt image and one whose header lies about its size are skipped and counted; an empty class folder is reported', async () => {
    const huge = await greyPng(3);
    huge.writeUInt32BE(100000, 16); // IHDR width
    huge.writeUInt32BE(100000, 20); // IHDR height
    huge.writeUInt32BE(crc32(huge.subarray(12, 29)), 29); // a well-formed header that lies
    const entries: TestEntry[] = [
      ...(await classFolders('', { a: [1, 2], b: [3, 4] })),
      { name: 'a/broken.png', bytes: (await greyPng(9)).subarray(0, 40) },
      { name: 'b/huge.png', bytes: huge },
      { name: 'empty/', folder: true },
      { name: 'notes/readme.txt', bytes: Buffer.from('x') },
    ];
    const { manifest } = await ingest(entries);
    expect(manifest.classes).toEqual(['a', 'b']);
    expect(manifest.emptyClasses).toEqual(['empty', 'notes']);
    const reasons = Object.fromEntries(manifest.skipped.map((s) => [s.reason, s]));
    expect(reasons['image too large to decode']?.examples).toEqual(['b/huge.png']);
    expect(reasons['not a readable image']?.examples ?? reasons['corrupt image']?.examples).toEqual(['a/broken.png']);
    expect(manifest.splits.train.count + manifest.splits.test.count).toBe(4);
  });

  it('fails with a sentence when a class keeps no readable image', async () => {
    const entries: TestEntry[] = [...(await classFolders('', { a: [1, 2] })), { name: 'b/x.png', bytes: Buffer.from('not a png at all') }];
    await expect(ingest(entries)).rejects.toThrow(/no readable image remains in class 'b'/);
  });

  it('fails when only one class remains', async () => {
    await expect(ingest(await classFolders('', { only: [1, 2, 3] }))).rejects.toThrow(/only one class \('only'\)/);
  });

  it('fails when there is no image at all, and leaves nothing behind', async () => {
    const err = await ingest([{ name: 'a/x.txt', bytes: Buffer.from('x') }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect((err as Error).message).toMatch(/no image in a class folder/);
  });
});

describe('conversion', () => {
  it('size and channels from options: colour JPEGs of mixed sizes become 6x6 grey', async () => {
    const entries: TestEntry[] = [
      { name: 'red/1.jpg', bytes: await rgbJpeg(20, 10, { r: 255, g: 0, b: 0 }) },
      { name: 'red/2.jpg', bytes: await rgbJpeg(9, 13, { r: 255, g: 0, b: 0 }) },
      { name: 'blue/1.jpg', bytes: await rgbJpeg(20, 10, { r: 0, g: 0, b: 255 }) },
      { name: 'blue/2.jpg', bytes: await rgbJpeg(7, 7, { r: 0, g: 0, b: 255 }) },
    ];
    const { manifest, getObject } = await ingest(entries, { imageSize: [6, 6], channels: 1, testFraction: 0.5 });
    expect(manifest.size).toEqual([6, 6, 1]);
    expect(manifest.sizeFrom).toBe('options');
    const { labels, images } = await readAll(manifest, getObject, 'train');
    for (let i = 0; i < labels.length; i++) {
      // Luminance: red is brighter than blue.
      expect(images[i]![0]! > 100 ? 'red' : 'blue').toBe(manifest.classes[labels[i]!]);
    }
  });

  it('without options the most common size and channel count win; grey becomes three equal channels', async () => {
    const entries: TestEntry[] = [
      { name: 'a/1.jpg', bytes: await rgbJpeg(5, 4, { r: 200, g: 10, b: 10 }) },
      { name: 'a/2.jpg', bytes: await rgbJpeg(5, 4, { r: 200, g: 10, b: 10 }) },
      { name: 'b/1.png', bytes: await greyPng(50, 9, 9) },
    ];
    const { manifest, getObject } = await ingest(entries, { testFraction: 0 });
    expect(manifest.size).toEqual([4, 5, 3]);
    const { labels, images } = await readAll(manifest, getObject, 'train');
    const grey = images[labels.indexOf(1)]!;
    expect(grey.length).toBe(4 * 5 * 3);
    expect(grey[3]).toBe(grey[4]);
    expect(grey[4]).toBe(grey[5]);
  });

  it('centercrop keeps the centre; resize keeps the whole picture squeezed', async () => {
    // 30 wide x 10 high: left and right thirds black, centre white.
    const pixels = Buffer.alloc(30 * 10);
    for (let y = 0; y < 10; y++) pixels.fill(255, y * 30 + 10, y * 30 + 20);
    const png = await sharp(pixels, { raw: { width: 30, height: 10, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    const crop = await convertImage(png, { height: 10, width: 10, channels: 1, sizeMode: 'centercrop' }, 1e6);
    const fit = await convertImage(png, { height: 10, width: 10, channels: 1, sizeMode: 'resize' }, 1e6);
    expect(Math.min(...crop)).toBeGreaterThan(200);
    expect(fit[0]).toBeLessThan(50);
    expect(fit[5]).toBeGreaterThan(200);
  });
});

describe('split drawing', () => {
  it('is the same for the same seed and differs for another', async () => {
    const entries = await classFolders('', { a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], b: [21, 22, 23, 24, 25, 26, 27, 28, 29, 30] });
    const testImages = async (seed: number) => {
      const { manifest, getObject } = await ingest(entries, { seed });
      return (await readAll(manifest, getObject, 'test')).images.map((im) => im[0]).sort();
    };
    const first = await testImages(1);
    expect(first).toHaveLength(4);
    expect(await testImages(1)).toEqual(first);
    expect(await testImages(2)).not.toEqual(first);
  });
});

describe('shards', () => {
  it('are fixed size with checksums; the manifest is written last and counts bytes', async () => {
    const entries = await classFolders('', { a: [1, 2, 3, 4, 5, 6, 7], b: [21, 22, 23, 24, 25, 26, 27] });
    const { manifest, out } = await ingest(entries, { imagesPerShard: 4, testFraction: 0 });
    expect(manifest.splits.train.shards.map((s) => s.count)).toEqual([4, 4, 4, 2]);
    expect(JSON.parse(await readFile(path.join(out, manifestName), 'utf8'))).toEqual(manifest);
    expect(manifest.bytes).toBe(14 * (64 + 2));
    expect(manifest.statistics.polarity).toBe('light-on-dark');
  });
});

it('stops between two images when its signal is aborted, and stores nothing', async () => {
  const entries: TestEntry[] = [];
  for (let i = 0; i < 40; i++) entries.push({ name: `${i % 2 ? 'a' : 'b'}/${i}.png`, bytes: await greyPng(i * 5) });
  const controller = new AbortController();
  const reads: number[] = [];
  const onProgress = ({ read }: { read: number }) => {
    reads.push(read);
    if (read === 3) controller.abort(new Error('shutting down'));
  };
  await expect(ingest(entries, { signal: controller.signal, onProgress })).rejects.toThrow('shutting down');
  // Conversions already in flight may report; no later image is read.
  expect(Math.max(...reads)).toBeLessThan(3 + 8 + 1);
  expect((await readdir(dir)).filter((f) => f.startsWith(`d${n - 1}-out`))).toEqual([]);
});
