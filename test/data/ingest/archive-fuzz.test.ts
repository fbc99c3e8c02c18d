import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateRawSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestArchive } from '../../../src/data/ingest/ingest.js';
import type { IngestLimits } from '../../../src/data/ingest/limits.js';
import type { DatasetManifest } from '../../../src/data/ingest/shards.js';
import { IngestError } from '../../../src/data/ingest/skips.js';
import { DatasetStore } from '../../../src/store/datasets.js';
import { FileBlobStore } from '../../../src/store/file-blob-store.js';
import { FuzzCounts } from '../../helpers/fuzz-counts.js';
import { greyPng, rgbJpeg, writeTar, writeZip, type TestEntry } from './archives.js';

/**
 * Archive fuzzing at the library level: generated archives (zip, tar, tar.gz), malformed in the
 * ways uploads are — truncated, bytes flipped, declared sizes and CRCs wrong, bombs past the ratio,
 * too many entries, '..' and absolute paths, links, odd and duplicate names, files that are no
 * image, corrupt images, empty classes, mixed sizes — go through ingestArchive with small limits
 * into a DatasetStore on a temporary FileBlobStore. Each either ingests (and is published whole)
 * or fails with an IngestError whose message is a sentence for the user (no stack, no server path),
 * and leaves no temporary file and nothing half-published; never a crash, an unhandled rejection or
 * a hang. Seeded, so a failure replays.
 */
const limits: IngestLimits = { entries: 40, uncompressedBytes: 6 * 2 ** 20, ratio: 20, entryBytes: 4 * 2 ** 20, images: 30, imagePixels: 64 * 64 };
/** An ingestion of these small archives that takes longer than this is a hang. */
const hangMs = 20_000;
const counts = new FuzzCounts();

let root: string;
/** The contents entries are drawn from, made once. */
let pool: Record<string, Buffer>;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'archive-fuzz-'));
  process.on('unhandledRejection', onUnhandled);
  const png = await greyPng(40);
  const idxImages = Buffer.concat([Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4]), Buffer.alloc(32, 9)]);
  const idxLabels = Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 0, 1]);
  // A PNG whose IHDR declares 100000 x 100000 pixels (far past the cap) over a few real bytes.
  const bomb = Buffer.from(png);
  bomb.writeUInt32BE(100_000, 16);
  bomb.writeUInt32BE(100_000, 20);
  pool = {
    png,
    png2: await greyPng(200),
    bigPng: await greyPng(7, 12, 10),
    rgbPng: await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 9, g: 200, b: 90, alpha: 0.5 } } }).png().toBuffer(),
    palettePng: await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 20, b: 90 } } }).png({ palette: true }).toBuffer(),
    jpeg: await rgbJpeg(10, 7, { r: 200, g: 10, b: 10 }),
    webp: await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } }).webp().toBuffer(),
    bmp: bmpFile(),
    truncatedPng: png.subarray(0, Math.floor(png.length / 2)),
    pngBadCrc: Buffer.concat([png.subarray(0, png.length - 20), Buffer.alloc(20, 0xee)]),
    pngBomb: bomb,
    text: Buffer.from('not an image at all\n'),
    empty: Buffer.alloc(0),
    idxImages,
    idxImagesGz: gzipSync(idxImages),
    idxLabels,
    idxShort: idxImages.subarray(0, 20),
    csv: Buffer.from('path,label\na.png,cat\nb.png,dog\nimg/c.png,cat\nmissing.png,dog\n,\n"quoted,odd",x\n'),
    zeros: Buffer.alloc(2 ** 20 + 4096),
    // Incompressible and larger than the zip reader's 1 MiB blocks.
    noise: randomBytes(1.5 * 2 ** 20),
  };
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  // The README quotes this line.
  console.log(counts.archiveSummary());
  await rm(root, { recursive: true, force: true });
});

/** A 2x2 24-bit BMP. */
function bmpFile(): Buffer {
  const b = Buffer.alloc(54 + 16);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(2, 18);
  b.writeInt32LE(2, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(16, 34);
  for (let i = 54; i < b.length; i++) b[i] = (i * 31) % 256;
  return b;
}

const content = fc.constantFrom('png', 'png', 'png', 'png2', 'bigPng', 'rgbPng', 'palettePng', 'jpeg', 'webp', 'bmp', 'truncatedPng', 'pngBadCrc', 'pngBomb', 'text', 'empty');
const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('cat', 'dog', 'bird') },
  { weight: 2, arbitrary: fc.constantFrom('train', 'test', 'validation', 'photos', 'img') },
  { weight: 1, arbitrary: fc.constantFrom('..', '.', '', '.hidden', '__MACOSX', 'C:', 'ü ñ 猫', 'a b', 'x'.repeat(120), 'con', 'a\\b') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 6 }) },
);
const fileName = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.integer({ min: 0, max: 9 }), fc.constantFrom('png', 'PNG', 'jpg', 'jpeg', 'bmp', 'webp', 'tif')).map(([n, ext]) => `${n}.${ext}`) },
  { weight: 1, arbitrary: fc.constantFrom('labels.csv', 'readme.txt', '.DS_Store', 'noext', 'a.png.txt', 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte') },
);
/** Names from a small alphabet, so duplicates and shared class folders are common. */
const entryName = fc.tuple(fc.array(segment, { minLength: 0, maxLength: 3 }), fileName, fc.constantFrom('', '', '', '/', './')).map(([dirs, file, lead]) => lead + [...dirs, file].join('/'));

/** The bytes an entry of this name holds: what its name suggests, mostly. */
function bytesFor(name: string, kind: string): Buffer {
  if (name.endsWith('labels.csv')) return pool.csv!;
  if (name.includes('images-idx3')) return name.endsWith('.gz') ? pool.idxImagesGz! : kind === 'text' ? pool.idxShort! : pool.idxImages!;
  if (name.includes('labels-idx1')) return pool.idxLabels!;
  return pool[kind]!;
}

/** A plausible image of a dataset: class folders (under split folders or a wrapping one at times), mostly readable. */
const goodEntry: fc.Arbitrary<TestEntry> = fc
  .tuple(fc.constantFrom('', '', 'train/', 'test/', 'photos/'), fc.constantFrom('cat', 'dog', 'bird'), fc.integer({ min: 0, max: 30 }), fc.constantFrom('png', 'png', 'png', 'png2', 'bigPng', 'rgbPng', 'palettePng', 'jpeg', 'webp', 'bmp'))
  .map(([prefix, label, n, kind]) => ({ name: `${prefix}${label}/${n}.${kind === 'jpeg' ? 'jpg' : kind === 'webp' || kind === 'bmp' ? kind : 'png'}`, bytes: pool[kind]! }));
/** What uploads get wrong: odd, unsafe or duplicate names, links, folders, files that are no image or are corrupt. */
const oddEntry: fc.Arbitrary<TestEntry> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(entryName, content).map(([name, kind]) => ({ name, bytes: bytesFor(name, kind) })) },
  { weight: 1, arbitrary: fc.tuple(fc.array(segment, { minLength: 1, maxLength: 2 })).map(([dirs]) => ({ name: `${dirs.join('/')}/`, folder: true })) },
  { weight: 1, arbitrary: fc.tuple(entryName, fc.constantFrom('/etc/passwd', '../../x', 'cat/0.png')).map(([name, to]) => ({ name, symlinkTo: to })) },
  { weight: 1, arbitrary: fc.tuple(entryName, fc.constantFrom('/etc/passwd', 'cat/0.png')).map(([name, to]) => ({ name, hardlinkTo: to })) },
);
/** A zip or gzip bomb (a megabyte of zeros compresses about a thousand times), or a large file that is no bomb. */
const bigEntry: fc.Arbitrary<TestEntry> = fc.constantFrom(['cat/zeros.png', 'zeros'], ['zeros.bin', 'zeros'], ['dog/noise.png', 'noise'], ['noise.bin', 'noise']).map(([name, kind]) => ({ name, bytes: pool[kind]! }));
const entries: fc.Arbitrary<TestEntry[]> = fc
  .tuple(fc.array(goodEntry, { maxLength: 20 }), fc.array(oddEntry, { maxLength: 5 }), fc.oneof({ weight: 7, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: bigEntry }))
  .chain(([good, odd, bomb]) => {
    const all = [...good, ...odd, ...(bomb ? [bomb] : [])];
    return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
  });

/** What is done to the archive's bytes once written. */
type Damage =
  | { kind: 'none' }
  | { kind: 'truncate'; at: number }
  | { kind: 'flip'; at: number[]; value: number }
  | { kind: 'declared size'; entry: number; size: number }
  | { kind: 'crc'; entry: number };

const damage: fc.Arbitrary<Damage> = fc.oneof(
  { weight: 7, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((at) => ({ kind: 'truncate' as const, at })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }), value: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('declared size' as const), entry: fc.nat(50), size: fc.constantFrom(0, 1, 100, 2 ** 20, 2 ** 31, 2 ** 32 - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crc' as const), entry: fc.nat(50) }) },
);

/** Offsets of zip central directory records ('PK\x01\x02') or tar headers (ustar magic at 257). */
function headerOffsets(bytes: Buffer, archiveKind: string): number[] {
  const offsets: number[] = [];
  if (archiveKind === 'zip') {
    for (let at = bytes.indexOf('PK\x01\x02', 0, 'latin1'); at >= 0; at = bytes.indexOf('PK\x01\x02', at + 4, 'latin1')) offsets.push(at);
  } else {
    for (let at = 0; at + 512 <= bytes.length; at += 512) if (bytes.toString('latin1', at + 257, at + 262) === 'ustar') offsets.push(at);
  }
  return offsets;
}

function damaged(bytes: Buffer, archiveKind: string, d: Damage): Buffer {
  const out = Buffer.from(bytes);
  if (d.kind === 'truncate') return out.subarray(0, Math.floor(d.at * out.length));
  if (d.kind === 'flip') for (const at of d.at) out[Math.min(out.length - 1, Math.floor(at * out.length))] = d.value;
  // Declared sizes and CRCs are patched in the plain tar (gzip's own CRC would catch the rest).
  const headers = headerOffsets(out, archiveKind);
  const at = headers[d.kind === 'declared size' || d.kind === 'crc' ? d.entry % Math.max(1, headers.length) : 0];
  if (at === undefined) return out;
  if (d.kind === 'declared size') {
    if (archiveKind === 'zip') out.writeUInt32LE(d.size >>> 0, at + 24);
    else out.write(`${Math.min(d.size, 8 ** 11 - 1).toString(8).padStart(11, '0')}\0`, at + 124, 'latin1');
  } else if (d.kind === 'crc') {
    // The zip's CRC-32 of the entry, or the tar header's checksum.
    if (archiveKind === 'zip') out.writeUInt32LE((out.readUInt32LE(at + 16) ^ 0x5a5a5a5a) >>> 0, at + 16);
    else out.write('0000000\0', at + 148, 'latin1');
  }
  return out;
}

let run = 0;

/** Writes the archive with `d` done to it: to the tar inside a tar.gz for declared sizes and checksums, to the gzip for the rest (where an upload breaks). */
async function writeArchive(dir: string, archiveKind: string, entries: TestEntry[], d: Damage): Promise<string> {
  const plain = path.join(dir, `plain.${archiveKind}`);
  if (archiveKind === 'zip') await writeZip(plain, entries);
  else await writeTar(plain, entries, false);
  const bytes = await readFile(plain);
  await rm(plain);
  const toGzip = d.kind === 'truncate' || d.kind === 'flip';
  const file = path.join(dir, `upload.${archiveKind}`);
  if (archiveKind !== 'tar.gz') await writeFile(file, damaged(bytes, archiveKind, d));
  else await writeFile(file, toGzip ? damaged(gzipSync(bytes), 'gz', d) : gzipSync(damaged(bytes, 'tar', d)));
  return file;
}

/** Every file under `dir`, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => !e.isDirectory()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** Ingests one generated archive, checks the outcome and says what it was. */
async function ingestOne(archiveKind: 'zip' | 'tar' | 'tar.gz', entries: TestEntry[], d: Damage, options: { imageSize?: [number, number]; channels?: 1 | 3 }): Promise<'ingested' | 'refused'> {
  const dir = path.join(root, `run-${run++}`);
  const work = path.join(dir, 'work');
  const data = path.join(dir, 'data');
  await mkdir(work, { recursive: true });
  const archive = await writeArchive(dir, archiveKind, entries, d);
  const store = new DatasetStore(new FileBlobStore(data));
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`ingestion did not finish within ${hangMs} ms`)), hangMs)));
  let result: DatasetManifest | IngestError;
  try {
    result = await Promise.race([ingestArchive(archive, store.writer('fuzzed'), { limits, seed: 3, tmpDir: work, ...options }), hang]);
  } catch (err) {
    if (!(err instanceof IngestError)) throw new Error(`not an IngestError: ${(err as Error)?.stack ?? String(err)}`);
    result = err;
  } finally {
    clearTimeout(timer);
  }
  if (result instanceof IngestError) {
    const message = result.message;
    expect(message.length, message).toBeGreaterThan(10);
    expect(message.length, message).toBeLessThan(600);
    // A sentence for the user: no stack, no server path, no leaked internals.
    expect(message, message).not.toMatch(/\n|\bat \S+:\d+:\d+|node_modules|\bundefined\b|\bNaN\b|\[object /);
    expect(message, message).not.toContain(root);
    expect(message, message).not.toContain(tmpdir());
    // Nothing published, nothing half-written left in the store.
    expect(await store.list()).toEqual([]);
    expect(await filesUnder(data)).toEqual([]);
  } else {
    // Published whole: the manifest stored is the one returned, every shard is there, the counts add up.
    expect(await store.list()).toEqual(['fuzzed']);
    expect(await store.manifest('fuzzed')).toEqual(result);
    for (const split of Object.values(result.splits)) {
      expect(split.perClass.reduce((a, b) => a + b, 0)).toBe(split.count);
      for (const shard of split.shards) expect((await store.object('fuzzed', shard.name)).length).toBe(shard.bytes);
    }
    expect(result.classes.length).toBeGreaterThanOrEqual(2);
  }
  // No temporary file left by ingestion, whatever the outcome.
  expect(await filesUnder(work)).toEqual([]);
  // A rejection nobody awaited surfaces after a turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  expect(unhandled).toEqual([]);
  const outcome = result instanceof IngestError ? 'refused' : 'ingested';
  counts.archive(archiveKind, outcome);
  await rm(dir, { recursive: true, force: true });
  return outcome;
}

const archiveKind = fc.constantFrom('zip' as const, 'tar' as const, 'tar.gz' as const);
const sizeOptions = fc.oneof(
  { weight: 3, arbitrary: fc.constant({}) },
  { weight: 1, arbitrary: fc.record({ imageSize: fc.constantFrom<[number, number]>([8, 8], [5, 9], [64, 64], [65, 65]), channels: fc.constantFrom<1 | 3>(1, 3) }) },
);

describe('archive fuzzing', () => {
  it('ingests or refuses generated archives with a sentence, leaving nothing behind', async () => {
    await fc.assert(
      fc.asyncProperty(archiveKind, entries, damage, sizeOptions, async (kind, list, d, options) => {
        await ingestOne(kind, list, d, options);
      }),
      { numRuns: 400, seed: 0x5eed13, endOnFailure: true },
    );
  }, 240_000);

  it('ingests archives up to the image and entry limits and refuses them past either', async () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `${['cat', 'dog'][i % 2]}/${i}.png`, bytes: pool.png! }));
    await fc.assert(
      fc.asyncProperty(archiveKind, fc.integer({ min: limits.images - 5, max: limits.entries + 10 }), damage, async (kind, n, d) => {
        const outcome = await ingestOne(kind, many(n), d, {});
        if (d.kind === 'none') expect(outcome).toBe(n > limits.images ? 'refused' : 'ingested');
      }),
      { numRuns: 30, seed: 0x5eed14, endOnFailure: true },
    );
  }, 120_000);
});

// Raw deflate is what a zip entry holds; keep the generator honest that a bomb really compresses.
it('the pool bomb compresses past the ratio guard', () => {
  expect(pool.zeros!.length / deflateRawSync(pool.zeros!).length).toBeGreaterThan(limits.ratio);
});
