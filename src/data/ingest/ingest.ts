import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Random, deriveSeed, freshSeed } from '../../nn/random.js';
import { StatisticsAccumulator } from '../image-statistics.js';
import { detectArchiveFile, readArchive, type EntryVisitor, type SourceKind } from './archive.js';
import { decodeIdxImages, decodeIdxLabels, idxBytes } from './idx.js';
import { convertGrey, convertImage, ImageSkip, readImageHeader, type Channels, type ConversionTarget, type ImageHeader, type SizeMode } from './images.js';
import { isImageName, labelsCsvName, planLayout, wrappingFolder, type IdxPlan, type ImagesPlan, type SplitName } from './layouts.js';
import type { IngestLimits } from './limits.js';
import { encodeShard, manifestName, sha256, shardName, type DatasetIdentity, type DatasetManifest, type ShardSink, type SplitManifest } from './shards.js';
import { IngestError, SkipLog } from './skips.js';
import { splitEachLabel } from './split.js';

/**
 * One archive (or, for the command line, a folder) in, a stored dataset out: the archive is read in two streamed passes (names and,
 * when no size is given, image headers; then the images), each image converted once to the
 * dataset's size and channels and spilled to a temporary file of fixed-size records, and each
 * split written as shards in a seeded random order, then the manifest, then `publish()`.
 * Memory holds one archive entry, a few images in conversion and one shard, whatever the size.
 */
export interface IngestOptions {
  limits: IngestLimits;
  /** [height, width]; the most common size among the images when absent. */
  imageSize?: [number, number];
  /** The most common channel count (grey 1, colour 3) when absent. */
  channels?: Channels;
  sizeMode?: SizeMode;
  /** Share of each class drawn into the test split when the archive names no test split. */
  testFraction?: number;
  /** Seed of the drawn test split and of the order within shards; a fresh one (recorded) when absent. */
  seed?: number;
  imagesPerShard?: number;
  /** The upload's content type, only to word the error when the archive is of no known kind. */
  contentType?: string;
  /** Folder for the temporary file of converted images (as large as the stored dataset). */
  tmpDir?: string;
  /** Recorded in the manifest: the service's id, name and tenant of the dataset. */
  identity?: DatasetIdentity;
  /** Images converted so far, of the total planned. */
  onProgress?: (progress: { read: number; total: number }) => void;
  /** Stops ingestion between two entries or images (a worker shutting down): it rejects with the signal's reason and stores nothing. */
  signal?: AbortSignal;
}

export const defaultTestFraction = 0.2;
export const defaultImagesPerShard = 1024;
/** Images converted at once: enough to keep libuv's four threads busy, few enough to bound memory. */
const conversionsInFlight = 8;

/** Converted images, in a temporary file of fixed-size records, with their labels and splits. */
interface Converted {
  file: FileHandle;
  imageBytes: number;
  labels: number[];
  splits: (SplitName | null)[];
  /** Records not yet written, appended in one write per spillChunkBytes (not one per image). */
  pending: Uint8Array[];
  written: number;
}

const spillChunkBytes = 1 << 20;
/**
 * Shards gather images in random order: a spill up to this size is read back whole (one read
 * instead of one per image); a larger one is read image by image, so memory stays bounded.
 */
const spillInMemoryBytes = 256 * 2 ** 20;

export async function ingestArchive(archive: string, sink: ShardSink, options: IngestOptions): Promise<DatasetManifest> {
  const kind = await detectArchiveFile(archive, options.contentType);
  const skips = new SkipLog();
  const seed = options.seed ?? freshSeed();
  const work = await mkdtemp(path.join(options.tmpDir ?? tmpdir(), 'trainyard-ingest-'));
  try {
    const file = await open(path.join(work, 'images'), 'w+');
    try {
      const manifest = await ingestInto(archive, kind, file, sink, skips, seed, options);
      await sink.publish();
      return manifest;
    } finally {
      await file.close();
    }
  } catch (err) {
    await sink.abort();
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** readArchive, stopping before each entry once the options' signal is aborted. */
function readEntries(archive: string, kind: SourceKind, options: IngestOptions, skips: SkipLog, visit: EntryVisitor): Promise<void> {
  return readArchive(archive, kind, options.limits, skips, (entry) => {
    options.signal?.throwIfAborted();
    return visit(entry);
  });
}

async function ingestInto(archive: string, kind: SourceKind, file: FileHandle, sink: ShardSink, skips: SkipLog, seed: number, options: IngestOptions): Promise<DatasetManifest> {
  const { limits } = options;
  const sizeGiven = options.imageSize !== undefined && options.channels !== undefined;
  // Pass 1: names, labels.csv, and (unless size and channels are given) every image's header.
  const files: string[] = [];
  const folders: string[] = [];
  const csvTexts = new Map<string, string>();
  const headers = new Map<string, ImageHeader>();
  // Unsafe entries are recorded here, once; the later passes see them again and record nothing.
  await readEntries(archive, kind, options, skips, async (entry) => {
    if (entry.kind === 'folder') return void folders.push(entry.name);
    files.push(entry.name);
    if (entry.name === labelsCsvName || entry.name.endsWith(`/${labelsCsvName}`)) csvTexts.set(entry.name, (await entry.read()).toString('utf8'));
    else if (!sizeGiven && isImageName(entry.name)) {
      try {
        headers.set(entry.name, await readImageHeader(await entry.read(), limits.imagePixels));
      } catch (err) {
        if (!(err instanceof ImageSkip)) throw err;
      }
    }
  });
  const wrap = wrappingFolder([...files, ...folders.map((f) => `${f}/`)]);
  const strip = (n: string) => n.slice(wrap.length);
  const plan = planLayout(
    files.map(strip),
    folders.filter((f) => f.startsWith(wrap)).map(strip),
    csvTexts.get(`${wrap}${labelsCsvName}`) ?? null,
    skips,
  );
  if (plan.kind === 'idx') return ingestIdx(archive, kind, plan, wrap, file, sink, skips, seed, options);

  const classes = [...new Set(plan.images.map((i) => i.label))].sort();
  if (plan.images.length === 0) throw new IngestError(noImagesSentence(plan));
  if (plan.images.length > limits.images) throw new IngestError(`the archive holds ${plan.images.length} images; a dataset may have at most ${limits.images}`);
  const target = chooseTarget(options, plan.images.map((i) => headers.get(`${wrap}${i.name}`)));
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const planned = new Map(plan.images.map((i) => [`${wrap}${i.name}`, { label: classIndex.get(i.label)!, split: i.split }]));

  // Pass 2: convert each planned image, a few at a time, into the record file in archive order
  // (so a seed gives the same dataset however the conversions interleave).
  const imageBytes = target.height * target.width * target.channels;
  const converted: Converted = { file, imageBytes, labels: [], splits: [], pending: [], written: 0 };
  const inFlight: { name: string; label: number; split: SplitName | null; pixels: Promise<Buffer | ImageSkip> }[] = [];
  let read = 0;
  const settleOldest = async () => {
    const { name, label, split, pixels } = inFlight.shift()!;
    const result = await pixels;
    if (result instanceof ImageSkip) skips.add(result.reason, strip(name));
    else await appendImage(converted, result, label, split);
    options.onProgress?.({ read: ++read, total: planned.size });
  };
  try {
    await readEntries(archive, kind, options, new SkipLog(), async (entry) => {
      const meta = entry.kind === 'file' ? planned.get(entry.name) : undefined;
      if (!meta) return;
      const bytes = await entry.read();
      const pixels = convertImage(bytes, target, limits.imagePixels, headers.get(entry.name)).catch((err: unknown) => {
        if (err instanceof ImageSkip) return err;
        throw err;
      });
      inFlight.push({ name: entry.name, ...meta, pixels });
      if (inFlight.length >= conversionsInFlight) await settleOldest();
    });
    while (inFlight.length > 0) await settleOldest();
  } finally {
    // A failure left conversions unawaited: their own failures are no news (and no unhandled rejection).
    for (const { pixels } of inFlight) pixels.catch(() => {});
  }
  await flushImages(converted);
  return writeDataset(converted, { layout: plan.kind, classes, emptyClasses: plan.emptyClasses, target, sizeGiven, sink, skips, seed, options });
}

function noImagesSentence(plan: ImagesPlan): string {
  if (plan.kind === 'labels-csv') return `${labelsCsvName} lists no image that is in the archive`;
  return 'the archive holds no image in a class folder: put each class\'s images (png, jpg, bmp, tif or webp) in a folder named after the class';
}

/** The options' size and channels, or the most common among the images' headers. */
function chooseTarget(options: IngestOptions, headers: ({ height: number; width: number; channels: Channels } | undefined)[]): ConversionTarget {
  const sizeMode = options.sizeMode ?? 'resize';
  const sizes = new Map<string, number>();
  const channels = new Map<Channels, number>();
  for (const h of headers) {
    if (!h) continue;
    const key = `${h.height}x${h.width}`;
    sizes.set(key, (sizes.get(key) ?? 0) + 1);
    channels.set(h.channels, (channels.get(h.channels) ?? 0) + 1);
  }
  const mostCommon = <K>(counts: Map<K, number>) => [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  const size = options.imageSize ?? mostCommon(sizes)?.split('x').map(Number);
  const ch = options.channels ?? mostCommon(channels);
  if (!size || ch === undefined) throw new IngestError('no image in the archive could be read (every one is corrupt or of an unsupported format)');
  return { height: size[0]!, width: size[1]!, channels: ch, sizeMode };
}

async function appendImage(converted: Converted, pixels: Uint8Array, label: number, split: SplitName | null): Promise<void> {
  converted.labels.push(label);
  converted.splits.push(split);
  converted.pending.push(pixels);
  if (converted.pending.length * converted.imageBytes >= spillChunkBytes) await flushImages(converted);
}

async function flushImages(converted: Converted): Promise<void> {
  const { pending, imageBytes } = converted;
  if (pending.length === 0) return;
  converted.pending = [];
  const at = converted.written;
  converted.written += pending.length;
  await converted.file.write(Buffer.concat(pending), 0, pending.length * imageBytes, at * imageBytes);
}

async function ingestIdx(archive: string, kind: SourceKind, plan: IdxPlan, wrap: string, file: FileHandle, sink: ShardSink, skips: SkipLog, seed: number, options: IngestOptions): Promise<DatasetManifest> {
  const { limits } = options;
  const wanted = new Map(plan.pairs.flatMap((p) => [[`${wrap}${p.images}`, p], [`${wrap}${p.labels}`, p]] as const));
  const contents = new Map<string, Buffer>();
  await readEntries(archive, kind, options, new SkipLog(), async (entry) => {
    if (entry.kind === 'file' && wanted.has(entry.name)) contents.set(entry.name.slice(wrap.length), await idxBytes(entry.name, await entry.read(), limits.entryBytes));
  });
  const decoded = plan.pairs.map((p) => {
    const images = decodeIdxImages(p.images, contents.get(p.images)!, limits);
    const labels = decodeIdxLabels(p.labels, contents.get(p.labels)!);
    if (labels.length !== images.count) throw new IngestError(`'${p.images}' holds ${images.count} images but '${p.labels}' ${labels.length} labels`);
    return { pair: p, images, labels };
  });
  const total = decoded.reduce((n, d) => n + d.images.count, 0);
  if (total > limits.images) throw new IngestError(`the IDX files hold ${total} images; a dataset may have at most ${limits.images}`);
  const first = decoded[0]!.images;
  const target: ConversionTarget = {
    height: options.imageSize?.[0] ?? first.rows,
    width: options.imageSize?.[1] ?? first.columns,
    channels: options.channels ?? 1,
    sizeMode: options.sizeMode ?? 'resize',
  };
  const maxLabel = Math.max(...decoded.map((d) => d.labels.reduce((m, l) => Math.max(m, l), 0)));
  const classes = Array.from({ length: maxLabel + 1 }, (_, i) => String(i));
  const converted: Converted = { file, imageBytes: target.height * target.width * target.channels, labels: [], splits: [], pending: [], written: 0 };
  let read = 0;
  for (const { pair, images, labels } of decoded) {
    const per = images.rows * images.columns;
    for (let i = 0; i < images.count; i++) {
      options.signal?.throwIfAborted();
      const pixels = await convertGrey(images.pixels.subarray(i * per, (i + 1) * per), images.columns, images.rows, target);
      await appendImage(converted, pixels, labels[i]!, pair.split);
      options.onProgress?.({ read: ++read, total });
    }
  }
  await flushImages(converted);
  return writeDataset(converted, { layout: 'idx', classes, emptyClasses: [], target, sizeGiven: options.imageSize !== undefined, sink, skips, seed, options });
}

interface WriteContext {
  layout: DatasetManifest['layout'];
  classes: string[];
  emptyClasses: string[];
  target: ConversionTarget;
  sizeGiven: boolean;
  sink: ShardSink;
  skips: SkipLog;
  seed: number;
  options: IngestOptions;
}

/** Checks what remains, assigns splits, writes each split's shards in a seeded order, then the manifest. */
async function writeDataset(converted: Converted, ctx: WriteContext): Promise<DatasetManifest> {
  const { classes, target, sink, skips, seed, options } = ctx;
  const { labels, splits } = converted;
  const perClass = new Array<number>(classes.length).fill(0);
  for (const l of labels) perClass[l]! += 1;
  if (labels.length === 0) throw new IngestError(`no image could be read: ${describeSkips(skips)}`);
  const missing = classes.filter((_, i) => perClass[i] === 0);
  if (missing.length > 0) throw new IngestError(`no readable image remains in class${missing.length > 1 ? 'es' : ''} ${missing.map((c) => `'${c}'`).join(', ')}: ${describeSkips(skips)}`);
  if (classes.length < 2) throw new IngestError(`the archive has only one class ('${classes[0]}'); a classifier needs at least two`);

  const testFraction = options.testFraction ?? defaultTestFraction;
  const named = splits.some((s) => s === 'test');
  let assigned: SplitName[];
  if (named) assigned = splits.map((s) => s ?? 'train');
  else {
    const isTest = splitEachLabel(labels, classes.length, testFraction, seed);
    assigned = splits.map((s, i) => (s === 'validation' ? 'validation' : isTest[i] ? 'test' : 'train'));
  }
  if (!assigned.includes('train')) throw new IngestError(`every readable image is in a test or validation folder: put the training images in train/<class>/ (or leave out the split folders to have a test split drawn)`);
  const imagesPerShard = options.imagesPerShard ?? defaultImagesPerShard;
  const size: [number, number, Channels] = [target.height, target.width, target.channels];
  const written = new Map<SplitName, SplitManifest>();
  const statistics = new StatisticsAccumulator(size);
  for (const split of ['train', 'test', 'validation'] as const) {
    const members = assigned.flatMap((s, i) => (s === split ? [i] : []));
    if (members.length === 0 && split === 'validation') continue;
    const order = new Random(deriveSeed(seed, 1000 + ['train', 'test', 'validation'].indexOf(split))).permutation(members.length);
    written.set(split, await writeSplit(converted, split, Array.from(order, (k) => members[k]!), classes.length, imagesPerShard, sink, split === 'train' ? statistics : null));
  }
  const manifest: DatasetManifest = {
    format: 'trainyard-shards-1',
    ...(options.identity ? { identity: options.identity } : {}),
    layout: ctx.layout,
    classes,
    size,
    sizeMode: target.sizeMode,
    sizeFrom: ctx.sizeGiven ? 'options' : 'most common',
    splits: { train: written.get('train')!, test: written.get('test')!, ...(written.has('validation') ? { validation: written.get('validation')! } : {}) },
    testSplit: named ? { drawn: false } : { drawn: true, testFraction, seed },
    shuffleSeed: seed,
    imagesPerShard,
    bytes: [...written.values()].reduce((n, s) => n + s.shards.reduce((m, sh) => m + sh.bytes, 0), 0),
    skipped: skips.list(),
    emptyClasses: ctx.emptyClasses,
    statistics: statistics.result(),
  };
  await sink.putObject(manifestName, new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
  return manifest;
}

function describeSkips(skips: SkipLog): string {
  const list = skips.list();
  if (list.length === 0) return 'nothing was skipped';
  return list.map((r) => `${r.count} skipped as ${r.reason} (e.g. '${r.examples[0]}')`).join('; ');
}

async function writeSplit(converted: Converted, split: SplitName, order: number[], classCount: number, imagesPerShard: number, sink: ShardSink, statistics: StatisticsAccumulator | null): Promise<SplitManifest> {
  const { file, imageBytes } = converted;
  const spillBytes = converted.labels.length * imageBytes;
  const whole = spillBytes <= spillInMemoryBytes ? Buffer.alloc(spillBytes) : null;
  if (whole) await file.read(whole, 0, spillBytes, 0);
  const perClass = new Array<number>(classCount).fill(0);
  const shards: SplitManifest['shards'] = [];
  const images = new Uint8Array(Math.min(imagesPerShard, Math.max(1, order.length)) * imageBytes);
  const scaled = new Float32Array(statistics ? images.length : 0);
  for (let start = 0, index = 0; start < order.length; start += imagesPerShard, index++) {
    const count = Math.min(imagesPerShard, order.length - start);
    const labels = new Uint16Array(count);
    for (let i = 0; i < count; i++) {
      const record = order[start + i]!;
      if (whole) images.set(whole.subarray(record * imageBytes, (record + 1) * imageBytes), i * imageBytes);
      else await file.read(images, i * imageBytes, imageBytes, record * imageBytes);
      labels[i] = converted.labels[record]!;
      perClass[labels[i]!]! += 1;
    }
    // Measured on values scaled to [0, 1], as training sees them.
    if (statistics) {
      for (let i = 0; i < count * imageBytes; i++) scaled[i] = images[i]! / 255;
      statistics.add(scaled, count);
    }
    const bytes = encodeShard(images.subarray(0, count * imageBytes), labels);
    const name = shardName(split, index);
    await sink.putObject(name, bytes);
    shards.push({ name, count, bytes: bytes.length, sha256: sha256(bytes) });
  }
  return { count: order.length, perClass, shards };
}

