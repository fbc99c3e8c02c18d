import { PublicationRefused } from '../store/blob-store.js';
import type { DatasetStore } from '../store/datasets.js';
import { yieldToEventLoop } from '../nn/yield.js';
import type { Dataset } from './dataset.js';
import { digitsDescription, digitsSplitSeed, loadDigits } from './digits.js';
import { StatisticsAccumulator } from './image-statistics.js';
import { encodeShard, manifestName, sha256, shardName, type DatasetManifest, type SplitManifest } from './ingest/shards.js';

/** The stored dataset id reserved for the built-in digits (an uploaded dataset never gets it). */
export const digitsId = 'digits';

/**
 * The built-in digits as a stored dataset like any uploaded one, written into the store from the
 * `mnist` package the first time it is needed: the same 5000/5000 split and image order as
 * src/data/digits.ts gives, each split one shard (so a shuffled pass is a full permutation, as
 * training from memory does), pixels quantised to uint8 (the package holds three-decimal values;
 * round(v * 255) / 255 is within 0.002 of each). Two processes writing it at once both publish
 * fenced as the same first attempt: one set is put in place and the other is refused, so the set
 * is never replaced under a reader; both then read the one stored.
 */
export function ensureStoredDigits(store: DatasetStore): Promise<DatasetManifest> {
  let stored = ensured.get(store);
  if (!stored) {
    stored = findOrWrite(store).catch((err: unknown) => {
      ensured.delete(store);
      throw err;
    });
    ensured.set(store, stored);
  }
  return stored;
}

const ensured = new WeakMap<DatasetStore, Promise<DatasetManifest>>();

async function findOrWrite(store: DatasetStore): Promise<DatasetManifest> {
  const found = await store.manifest(digitsId);
  if (found) return found;
  const written = await writeDigits(store).catch((err: unknown) => {
    if (err instanceof PublicationRefused) return null;
    throw err;
  });
  const manifest = written ?? (await store.manifest(digitsId));
  if (!manifest) throw new Error('the built-in digits could not be stored');
  return manifest;
}

async function writeDigits(store: DatasetStore): Promise<DatasetManifest> {
  const { train, test } = await loadDigits();
  const { size, classes } = digitsDescription;
  const sink = store.writer(digitsId, { attempt: 1, holds: () => Promise.resolve(true) });
  try {
    const statistics = new StatisticsAccumulator(size);
    const splits = { train: await writeSplit(sink, 'train', train, classes.length, statistics), test: await writeSplit(sink, 'test', test, classes.length, null) };
    const manifest: DatasetManifest = {
      format: 'trainyard-shards-1',
      identity: { id: digitsId, name: digitsId, createdAt: new Date().toISOString() },
      layout: 'built-in',
      classes,
      size: [size[0], size[1], 1],
      sizeMode: 'resize',
      sizeFrom: 'options',
      splits,
      testSplit: { drawn: false },
      shuffleSeed: digitsSplitSeed,
      imagesPerShard: Math.max(train.count, test.count),
      bytes: splits.train.shards[0]!.bytes + splits.test.shards[0]!.bytes,
      skipped: [],
      emptyClasses: [],
      statistics: statistics.result(),
    };
    await sink.putObject(manifestName, new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
    await sink.publish();
    return manifest;
  } catch (err) {
    await sink.abort();
    throw err;
  }
}

/** One split as one shard, in the split's order; the event loop runs between steps (the API may be the first to need the digits). */
async function writeSplit(sink: ReturnType<DatasetStore['writer']>, split: 'train' | 'test', data: Dataset, classCount: number, statistics: StatisticsAccumulator | null): Promise<SplitManifest> {
  const images = new Uint8Array(data.images.length);
  for (let i = 0; i < images.length; i++) images[i] = Math.round(data.images[i]! * 255);
  await yieldToEventLoop();
  statistics?.add(Float32Array.from(images, (v) => v / 255), data.count);
  await yieldToEventLoop();
  const perClass = new Array<number>(classCount).fill(0);
  for (const label of data.labels) perClass[label]! += 1;
  const bytes = encodeShard(images, data.labels);
  const name = shardName(split, 0);
  await sink.putObject(name, bytes);
  return { count: data.count, perClass, shards: [{ name, count: data.count, bytes: bytes.length, sha256: sha256(bytes) }] };
}
