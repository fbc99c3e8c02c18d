import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sampleStrip, samplesPerClass } from '../../src/data/dataset-samples.js';
import { ShardChecksumError } from '../../src/data/ingest/shard-reader.js';
import { encodeShard, sha256, type DatasetManifest, type ShardInfo } from '../../src/data/ingest/shards.js';

/** A 2x2 grey image whose every pixel is `value`, so a tile says which image it came from. */
const image = (value: number) => new Uint8Array(4).fill(value);

/** Shards of 2x2 grey images (pixel value = index in the split), labels as given; streamed in small chunks. */
function storedTrainSplit(labelsPerShard: number[][]) {
  const objects = new Map<string, Uint8Array>();
  const shards: ShardInfo[] = [];
  let next = 0;
  labelsPerShard.forEach((labels, s) => {
    const images = new Uint8Array(labels.length * 4);
    labels.forEach((_, i) => images.set(image(next++), i * 4));
    const bytes = encodeShard(images, labels);
    const name = `train-${s}.shard`;
    objects.set(name, bytes);
    shards.push({ name, count: labels.length, bytes: bytes.length, sha256: sha256(bytes) });
  });
  const classes = Math.max(...labelsPerShard.flat()) + 1;
  const perClass = Array.from({ length: classes }, (_, k) => labelsPerShard.flat().filter((l) => l === k).length);
  const manifest = { classes: Array.from({ length: classes }, (_, k) => `c${k}`), size: [2, 2, 1], splits: { train: { count: next, perClass, shards } } } as unknown as DatasetManifest;
  const opened: string[] = [];
  const open = async (name: string) => {
    opened.push(name);
    const bytes = objects.get(name)!;
    return Readable.from(Array.from({ length: Math.ceil(bytes.length / 5) }, (_, i) => Buffer.from(bytes.subarray(i * 5, i * 5 + 5))));
  };
  return { manifest, objects, open, opened };
}

/** The first pixel of each tile of row k (the image's index in the split). */
const row = (strip: Awaited<ReturnType<typeof sampleStrip>>, k: number) =>
  Array.from({ length: strip.counts[k]! }, (_, t) => strip.pixels[(k * 2 * strip.width + t * 2) * strip.channels]);

describe('the samples strip', () => {
  it('takes the first images of each class in stored order, reading further shards only for classes still short', async () => {
    const plenty = Array.from({ length: 20 }, (_, i) => i % 2);
    const { manifest, open, opened } = storedTrainSplit([plenty, [2, 0, 2], [2]]);
    const strip = await sampleStrip(manifest, open);
    expect([strip.width, strip.height, strip.channels]).toEqual([samplesPerClass * 2, 3 * 2, 1]);
    expect(strip.counts).toEqual([samplesPerClass, samplesPerClass, 3]);
    expect(row(strip, 0)).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    expect(row(strip, 1)).toEqual([1, 3, 5, 7, 9, 11, 13, 15]);
    expect(row(strip, 2)).toEqual([20, 22, 23]);
    expect(opened).toEqual(['train-0.shard', 'train-1.shard', 'train-2.shard']);
  });

  it('stops reading once every class has its tiles', async () => {
    const { manifest, open, opened } = storedTrainSplit([Array.from({ length: 20 }, (_, i) => i % 2), [0, 1]]);
    expect((await sampleStrip(manifest, open)).counts).toEqual([samplesPerClass, samplesPerClass]);
    expect(opened).toEqual(['train-0.shard']);
  });

  it('refuses a shard that does not match its checksum', async () => {
    const { manifest, objects, open } = storedTrainSplit([[0, 1, 0]]);
    objects.get('train-0.shard')![0]! ^= 1;
    await expect(sampleStrip(manifest, open)).rejects.toBeInstanceOf(ShardChecksumError);
  });
});
