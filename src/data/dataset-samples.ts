import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ShardChecksumError } from './ingest/shard-reader.js';
import type { DatasetManifest } from './ingest/shards.js';

/** What the samples strip shows at most: images per class, classes (the first ones), and pixels in all. */
export const samplesPerClass = 8;
export const maxSampleClasses = 32;
const pixelBudget = 1 << 22;
/** Of each shard read, the leading images kept while its labels (at its end) are still to come. */
const prefixBudgetBytes = 16 << 20;
/** Shards read at most, looking for classes still short of samples. */
const maxShardsRead = 4;

export interface SampleStrip {
  /** uint8 pixels, HWC: one row of `perClass` tiles per class shown, left to right. */
  pixels: Uint8Array;
  width: number;
  height: number;
  channels: number;
  /** Tiles found for each class shown (the first `counts.length` classes): rare ones may have fewer. */
  counts: number[];
}

/**
 * A few training images of each class in one strip, read from the stored shards as streams: each
 * shard is in a seeded random order, so its leading images are a fair sample; they are kept (at
 * most `prefixBudgetBytes`) while the rest streams past to the labels at the shard's end, and the
 * shard's checksum is checked as it streams. At most `maxShardsRead` shards are read, and memory
 * holds one shard's prefix and the strip, whatever the dataset's size.
 */
export async function sampleStrip(manifest: DatasetManifest, open: (name: string) => Promise<Readable>): Promise<SampleStrip> {
  const [h, w, c] = manifest.size;
  const imageBytes = h * w * c;
  const classes = Math.max(1, Math.min(manifest.classes.length, maxSampleClasses, Math.floor(pixelBudget / (h * w * samplesPerClass))));
  const width = samplesPerClass * w;
  const pixels = new Uint8Array(classes * h * width * c);
  const counts = new Array<number>(classes).fill(0);
  const wanted = manifest.splits.train.perClass.slice(0, classes).map((n) => Math.min(n, samplesPerClass));
  const short = () => counts.some((n, k) => n < wanted[k]!);
  for (const shard of manifest.splits.train.shards.slice(0, maxShardsRead)) {
    if (!short()) break;
    const keep = Math.min(shard.count, Math.max(classes * samplesPerClass, Math.floor(prefixBudgetBytes / imageBytes)));
    const { prefix, labels } = await readShard(await open(shard.name), shard, imageBytes, keep);
    for (let i = 0; i < keep; i++) {
      const k = labels[i]!;
      if (k >= classes || counts[k]! >= wanted[k]!) continue;
      const x = counts[k]!++ * w;
      for (let r = 0; r < h; r++) pixels.set(prefix.subarray((i * h + r) * w * c, (i * h + r + 1) * w * c), ((k * h + r) * width + x) * c);
    }
  }
  return { pixels, width, height: classes * h, channels: c, counts };
}

/** A shard streamed once: its first `keep` images, all its labels, its size and checksum checked. */
async function readShard(body: Readable, shard: DatasetManifest['splits']['train']['shards'][number], imageBytes: number, keep: number): Promise<{ prefix: Uint8Array; labels: Uint16Array }> {
  const labelStart = shard.count * imageBytes;
  if (shard.bytes !== labelStart + 2 * shard.count) throw new Error(`shard '${shard.name}' of ${shard.count} images must hold ${labelStart + 2 * shard.count} bytes, not ${shard.bytes}`);
  const prefix = new Uint8Array(keep * imageBytes);
  const labelBytes = new Uint8Array(2 * shard.count);
  const hash = createHash('sha256');
  let at = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (at + chunk.length > shard.bytes) {
      body.destroy();
      throw new ShardChecksumError(shard.name);
    }
    hash.update(chunk);
    if (at < prefix.length) prefix.set(chunk.subarray(0, prefix.length - at), at);
    const end = at + chunk.length;
    if (end > labelStart) labelBytes.set(chunk.subarray(Math.max(0, labelStart - at)), Math.max(0, at - labelStart));
    at = end;
  }
  if (at !== shard.bytes || hash.digest('hex') !== shard.sha256) throw new ShardChecksumError(shard.name);
  const view = new DataView(labelBytes.buffer);
  return { prefix, labels: Uint16Array.from({ length: shard.count }, (_, i) => view.getUint16(2 * i, true)) };
}
