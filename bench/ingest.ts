/**
 * Ingestion rate: (1) 60,000 28x28 grey PNGs in one zip (the built-in digits, repeated six
 * times, in class folders; floor: under 60 s on the 2-core machine), (2) 2,000 RGB JPEGs of about
 * 500x375 in one zip, resized to 64x64. The archives are generated first (not timed). Each prints
 * wall and process CPU time (all threads; on a shared machine the CPU time is the figure that holds,
 * as wall time grows with the load), the load average, and both as ratios to a reference run in the
 * same invocation: one read of every entry of the same archive.
 *
 *   npm run bench:ingest -- [--pngs 60000] [--jpegs 2000]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import yazl from 'yazl';
import { loadDigits } from '../src/data/digits.js';
import { ingestArchive, type IngestOptions } from '../src/data/ingest/ingest.js';
import { detectArchiveFile, readArchive } from '../src/data/ingest/archive.js';
import { defaultIngestLimits } from '../src/data/ingest/limits.js';
import { directorySink } from '../src/data/ingest/shards.js';
import { SkipLog } from '../src/data/ingest/skips.js';

const { values } = parseArgs({ options: { pngs: { type: 'string', default: '60000' }, jpegs: { type: 'string', default: '2000' } } });

/** Runs `make(i)` for 0..count-1, a few at once, adding each result to the zip in order. */
async function buildZip(file: string, count: number, make: (i: number) => Promise<{ name: string; bytes: Buffer }>): Promise<void> {
  const zip = new yazl.ZipFile();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
  })();
  const batch = 64;
  for (let start = 0; start < count; start += batch) {
    const made = await Promise.all(Array.from({ length: Math.min(batch, count - start) }, (_, k) => make(start + k)));
    for (const { name, bytes } of made) zip.addBuffer(bytes, name, { compress: false });
  }
  zip.end();
  await collected;
  await writeFile(file, Buffer.concat(chunks));
}

/** Wall and process CPU time (user + system, all threads: libuv's and libvips's too) of `run`. */
async function measure<T>(run: () => Promise<T>): Promise<{ result: T; wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const result = await run();
  const cpu = process.cpuUsage(cpu0);
  return { result, wall: (performance.now() - started) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
}

/**
 * Ingests `archive`, after the reference run: one read of every entry of the same archive (what no
 * ingestion can avoid), so the ratio says how much the rest costs on whatever machine and load.
 */
async function timeIngest(label: string, archive: string, dir: string, options: Partial<IngestOptions>): Promise<void> {
  const kind = await detectArchiveFile(archive);
  const reference = await measure(() => readArchive(archive, kind, defaultIngestLimits, new SkipLog(), async (entry) => void (await entry.read())));
  const load = os.loadavg();
  const { result: manifest, wall, cpu } = await measure(() => ingestArchive(archive, directorySink(path.join(dir, `${label}-out`)), { limits: defaultIngestLimits, seed: 1, ...options }));
  const images = manifest.splits.train.count + manifest.splits.test.count;
  console.log(
    `${label}: ${images} images -> ${manifest.size.join('x')} in ${wall.toFixed(1)} s wall, ${cpu.toFixed(1)} s CPU = ${Math.round(images / wall)} images/s ` +
      `(${manifest.splits.train.shards.length + manifest.splits.test.shards.length} shards, ${manifest.bytes} bytes); ` +
      `reference read of the archive ${reference.wall.toFixed(1)} s wall, ${reference.cpu.toFixed(1)} s CPU: ingestion is ${(wall / reference.wall).toFixed(1)}x its wall, ${(cpu / reference.cpu).toFixed(1)}x its CPU; ` +
      `load average ${load.map((l) => l.toFixed(1)).join(' ')}`,
  );
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-ingest-'));
try {
  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}, sharp ${sharp.versions.sharp}`);
  const { train, test } = await loadDigits();
  const digits = [train, test];
  const pngs = Number(values.pngs);
  const pngZip = path.join(dir, 'digits.zip');
  await buildZip(pngZip, pngs, async (i) => {
    const set = digits[i % 2]!;
    const k = Math.floor(i / 2) % set.count;
    const pixels = Buffer.from(Array.from(set.images.subarray(k * 784, (k + 1) * 784), (v) => Math.round(v * 255)));
    const bytes = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toBuffer();
    return { name: `digits/${set.labels[k]}/${i}.png`, bytes };
  });
  await timeIngest('28x28 PNGs', pngZip, dir, {});

  const jpegs = Number(values.jpegs);
  const jpegZip = path.join(dir, 'photos.zip');
  const colours = [{ r: 200, g: 40, b: 40 }, { r: 40, g: 200, b: 40 }, { r: 40, g: 40, b: 200 }, { r: 200, g: 200, b: 40 }];
  await buildZip(jpegZip, jpegs, async (i) => {
    const width = 480 + (i % 41);
    const height = 360 + (i % 31);
    const bytes = await sharp({ create: { width, height, channels: 3, background: colours[i % 4]!, noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
      .composite([{ input: { create: { width: 100, height: 100, channels: 3, background: colours[(i + 1) % 4]! } }, left: i % 300, top: i % 200 }])
      .jpeg({ quality: 85 })
      .toBuffer();
    return { name: `photos/class${i % 4}/${i}.jpg`, bytes };
  });
  await timeIngest('500x375 JPEGs -> 64x64 RGB', jpegZip, dir, { imageSize: [64, 64], channels: 3 });
  console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
