import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { Dataset } from '../../src/data/dataset.js';
import { ingestArchive } from '../../src/data/ingest/ingest.js';
import { defaultIngestLimits } from '../../src/data/ingest/limits.js';
import type { DatasetManifest } from '../../src/data/ingest/shards.js';
import type { DatasetEvent, DatasetRecord } from '../../src/queue/dataset-records.js';
import type { DatasetStore } from '../../src/store/datasets.js';
import type { Stored } from '../../src/queue/events.js';
import { writeZip, type TestEntry } from '../data/ingest/archives.js';
import { digits } from './data.js';
import { Watcher, type ApiClient } from './service.js';

/** A dataset as the API answers it. */
export type DatasetView = Omit<DatasetRecord, 'summary' | 'options'> & {
  description: DatasetRecord['summary'];
  links: { self: string; events: string; samples?: string };
};

/**
 * The first `perClass` training digits of each of `classes` classes as grey 28x28 PNGs in class
 * folders (`<digit>/<n>.png`), zipped in memory: an archive as a user would upload it.
 */
export async function digitsZip(perClass: number, classes = 10): Promise<Buffer> {
  const { train } = await digits(Math.max(2000, perClass * classes * 2));
  const taken = new Map<number, number>();
  const entries: TestEntry[] = [];
  for (let i = 0; i < train.count; i++) {
    const label = train.labels[i]!;
    const n = taken.get(label) ?? 0;
    if (label >= classes || n >= perClass) continue;
    taken.set(label, n + 1);
    const pixels = Buffer.from(train.images.subarray(i * 784, (i + 1) * 784).map((v) => Math.round(v * 255)));
    entries.push({ name: `digits/${label}/${n}.png`, bytes: await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).toColourspace('b-w').png().toBuffer() });
  }
  return zipped(entries);
}

export async function zipped(entries: TestEntry[]): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'trainyard-zip-'));
  try {
    const file = path.join(dir, 'a.zip');
    await writeZip(file, entries);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Uploads an archive as the request body. */
export async function uploadRaw(api: ApiClient, archive: Buffer, { query = '', contentType = 'application/zip', headers = {} }: { query?: string; contentType?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${api.base}/v1/datasets${query}`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body: archive });
  return { status: response.status, body: (await response.json()) as DatasetView & { detail?: string; errors?: { path: string }[] } };
}

/** Uploads an archive as the one file of a multipart form, as a browser or `curl -F` does. */
export async function uploadForm(api: ApiClient, archive: Buffer, filename: string, { query = '', headers = {} }: { query?: string; headers?: Record<string, string> } = {}) {
  const form = new FormData();
  form.append('file', new Blob([archive], { type: 'application/zip' }), filename);
  const response = await fetch(`${api.base}/v1/datasets${query}`, { method: 'POST', headers, body: form });
  return { status: response.status, body: (await response.json()) as DatasetView & { detail?: string } };
}

/** Follows a dataset's events until its socket closes. */
export async function datasetEvents(api: ApiClient, id: string, key?: string, since?: string): Promise<{ events: Stored<DatasetEvent>[]; code: number }> {
  const url = `${api.base.replace('http', 'ws')}/v1/datasets/${id}/events${since ? `?since=${since}` : ''}`;
  const watcher = new Watcher(url, key ? ['trainyard.v1', `trainyard.key.${key}`] : []);
  const { code } = await watcher.closed;
  return { events: watcher.events as unknown as Stored<DatasetEvent>[], code };
}

/**
 * A zip of images as a user would upload it: each split's images as PNG files in class folders,
 * `train/<class>/<n>.png` and `test/<class>/<n>.png` (grey PNGs for grey images).
 */
export async function writeClassFolderZip(file: string, splits: { train: Dataset; test: Dataset }): Promise<void> {
  const entries: TestEntry[] = [];
  for (const split of ['train', 'test'] as const) {
    const data = splits[split];
    const [h, w, c] = data.size;
    const per = h * w * c;
    for (let i = 0; i < data.count; i++) {
      const name = `${split}/${data.classes[data.labels[i]!]}/${String(i).padStart(5, '0')}.png`;
      entries.push({ name, bytes: await pngOf(data.images.subarray(i * per, (i + 1) * per), w, h, c) });
    }
  }
  await writeZip(file, entries);
}

/** Ingests an archive into the store as the service does, recorded as `tenant`'s dataset `id`. */
export function ingestAs(store: DatasetStore, archive: string, id: string, tenant: string, seed = 7): Promise<DatasetManifest> {
  return ingestArchive(archive, store.writer(id), { limits: defaultIngestLimits, seed, identity: { id, name: `${id} (uploaded)`, tenant, createdAt: new Date().toISOString() } });
}

/** A float image in [0, 1] as a PNG of its own channels (an 8-bit grey PNG for one channel). */
export function pngOf(pixels: Float32Array, width: number, height: number, channels: number): Promise<Buffer> {
  const raw = Buffer.from(Uint8Array.from(pixels, (v) => Math.round(v * 255)));
  const image = sharp(raw, { raw: { width, height, channels: channels as 1 | 3 } });
  return (channels === 1 ? image.toColourspace('b-w') : image).png().toBuffer();
}
