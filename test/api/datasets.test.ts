import http from 'node:http';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestionWorker, redisConnection } from '../../src/composition.js';
import { decodeShard } from '../../src/data/ingest/shards.js';
import { pngHeader } from '../../src/data/png.js';
import type { IngestionWorker } from '../../src/queue/ingestion-queue.js';
import { datasetEvents, digitsZip, uploadForm, uploadRaw, type DatasetView } from '../helpers/datasets.js';
import { until } from '../helpers/queue.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * The datasets API on a real Redis under a fresh prefix, with ingestion run in this process by the
 * real handler (the worker process's own path is test/e2e/datasets.test.ts).
 */
const aliceKey = 'alice-key-0123456789abcdef';
const bobKey = 'bob-key-0123456789abcdef';
const adminKey = 'admin-key-0123456789abcdef';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const cap = 256 * 1024;

let env: ServiceEnv;
let api: Api;
let connection: Redis;
let worker: IngestionWorker;
let archive: Buffer;

beforeAll(async () => {
  env = await serviceEnv('datasets', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', {
    API_KEYS: `alice:${aliceKey},bob:${bobKey},carol:carol-key-0123456789abcdef`,
    ADMIN_API_KEYS: adminKey,
    DATASET_MAX_ARCHIVE_BYTES: String(cap),
    TENANT_MAX_DATASETS: '6',
  });
  api = await Api.start(env.config);
  archive = await digitsZip(6, 3);
});
afterAll(async () => {
  await worker?.close();
  connection?.disconnect();
  await api.close();
  await env.cleanup();
});

/** Starts the ingestion worker (some tests want datasets left ingesting first). */
async function startWorker(): Promise<void> {
  if (worker) return;
  connection = redisConnection(env.config, () => {});
  const log = { info: () => {}, warn: () => {}, error: (obj: object, msg: string) => console.error(msg, obj) };
  worker = ingestionWorker(env.config, connection, { workerId: 'test', log });
  await worker.start();
}

async function get(id: string, key = aliceKey) {
  return api.json<DatasetView>('GET', `/v1/datasets/${id}`, undefined, as(key));
}

/** Leftovers of uploads in the data folder: kept uploads and half-written ones alike. */
async function uploadsOnDisk(): Promise<string[]> {
  return readdir(path.join(env.dataDir, 'uploads')).catch(() => []);
}

describe('uploading a dataset', () => {
  it('answers 400 naming each bad query field, before reading the body', async () => {
    const res = await uploadRaw(api, archive, { query: '?channels=2&imageSize=0,5&testFraction=1.5&sizeMode=stretch&colour=1', headers: as(aliceKey) });
    expect(res.status).toBe(400);
    const paths = res.body.errors!.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['querystring.channels', 'querystring.imageSize', 'querystring.testFraction', 'querystring.sizeMode', 'querystring.colour']));
    const side = await uploadRaw(api, archive, { query: '?imageSize=28,99999', headers: as(aliceKey) });
    expect(side.status).toBe(400);
    expect(side.body.detail).toContain('MAX_IMAGE_SIDE');
    expect(await uploadsOnDisk()).toEqual([]);
  });

  it('answers 415 for a body that is no archive type, 400 for an empty one, 401 without a key', async () => {
    const text = await uploadRaw(api, archive, { contentType: 'text/csv', headers: as(aliceKey) });
    expect(text.status).toBe(415);
    expect(text.body.detail).toContain('application/zip');
    const empty = await uploadRaw(api, Buffer.alloc(0), { headers: as(aliceKey) });
    expect(empty.status).toBe(400);
    expect((await uploadRaw(api, archive)).status).toBe(401);
    expect(await uploadsOnDisk()).toEqual([]);
  });

  it('refuses an archive over DATASET_MAX_ARCHIVE_BYTES with 413, declared or streamed, and keeps nothing', async () => {
    const big = Buffer.alloc(cap + 1, 7);
    const declared = await uploadRaw(api, big, { headers: as(aliceKey) });
    expect(declared.status).toBe(413);
    expect(declared.body.detail).toContain('DATASET_MAX_ARCHIVE_BYTES');
    // Chunked, with no Content-Length: refused as the bytes pass the cap.
    const chunks = [big.subarray(0, cap / 2), big.subarray(cap / 2)];
    const streamed = await fetch(`${api.base}/v1/datasets`, {
      method: 'POST',
      headers: { 'content-type': 'application/zip', ...as(aliceKey) },
      body: new ReadableStream({ pull: (c) => void (chunks.length ? c.enqueue(chunks.shift()!) : c.close()) }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const form = await uploadForm(api, big, 'big.zip', { headers: as(aliceKey) });
    expect(form.status).toBe(413);
    expect(await uploadsOnDisk()).toEqual([]);
    expect((await api.json<{ datasets: unknown[] }>('GET', '/v1/datasets', undefined, as(aliceKey))).body.datasets).toEqual([]);
  });

  it('keeps nothing of an upload whose connection drops half way', async () => {
    const { port } = new URL(api.base);
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/datasets', headers: { 'content-type': 'application/zip', 'content-length': archive.length, ...as(aliceKey) } });
    req.on('error', () => {});
    req.write(archive.subarray(0, archive.length >> 1));
    // Once the half-written upload is on disk, drop the connection.
    await until(async () => (await uploadsOnDisk()).length > 0, 10_000, 'upload started');
    req.destroy();
    await until(async () => (await uploadsOnDisk()).length === 0, 10_000, 'half-written upload removed');
    expect((await api.json<{ datasets: unknown[] }>('GET', '/v1/datasets', undefined, as(aliceKey))).body.datasets).toEqual([]);
  });

  it('refuses to delete a dataset while it ingests (409), then ingests it once a worker runs', async () => {
    const res = await uploadRaw(api, archive, { query: '?name=queued', headers: as(aliceKey) });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'ingesting', name: 'queued', uploadBytes: archive.length, description: null, links: { self: `/v1/datasets/${res.body.id}`, events: `/v1/datasets/${res.body.id}/events` } });
    const refused = await api.json('DELETE', `/v1/datasets/${res.body.id}`, undefined, as(aliceKey));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ datasetStatus: 'ingesting' });
    const notYet = await fetch(`${api.base}/v1/datasets/${res.body.id}/samples.png`, { headers: as(aliceKey) });
    expect(notYet.status).toBe(409);
    await startWorker();
    const { events, code } = await datasetEvents(api, res.body.id, aliceKey);
    expect(code).toBe(1000);
    expect(events.at(-1)).toMatchObject({ type: 'ready' });
  });
});

describe('a dataset once uploaded', () => {
  let id: string;
  beforeAll(async () => {
    await startWorker();
    const res = await uploadRaw(api, archive, { query: '?name=three%20digits&testFraction=0.5&seed=7', headers: as(aliceKey) });
    expect(res.status).toBe(202);
    id = res.body.id;
  });

  it('reports progress of read images until ready, then describes what it holds', async () => {
    const { events, code } = await datasetEvents(api, id, aliceKey);
    expect(code).toBe(1000);
    expect(events[0]).toMatchObject({ type: 'status', status: 'ingesting' });
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.at(-1)).toMatchObject({ read: 18, total: 18 });
    expect(events.at(-1)).toMatchObject({ type: 'ready' });
    const ready = (await get(id)).body;
    expect(ready).toMatchObject({ status: 'ready', name: 'three digits', tenant: 'alice', error: null, progress: { read: 18, total: 18 } });
    expect(ready.description).toMatchObject({
      layout: 'folders',
      classes: ['0', '1', '2'],
      size: [28, 28, 1],
      sizeFrom: 'most common',
      testSplit: { drawn: true, testFraction: 0.5, seed: 7 },
      splits: { train: { count: 9, perClass: [3, 3, 3] }, test: { count: 9, perClass: [3, 3, 3] } },
      skipped: [],
      emptyClasses: [],
    });
    expect(ready.bytes).toBe(ready.description!.bytes);
    // The upload is dropped just after the outcome is recorded (and its event sent).
    await until(async () => (await uploadsOnDisk()).length === 0, 10_000, 'upload dropped');
    // Replay after an event id sends only what followed it.
    const after = await datasetEvents(api, id, aliceKey, events.at(-2)!.id);
    expect(after.events).toEqual([events.at(-1)]);
  });

  it('is listed for its tenant and the admin, and is 404 to another tenant everywhere', async () => {
    const mine = await api.json<{ datasets: DatasetView[] }>('GET', '/v1/datasets', undefined, as(aliceKey));
    expect(mine.body.datasets.map((d) => d.id)).toContain(id);
    const theirs = await api.json<{ datasets: DatasetView[] }>('GET', '/v1/datasets', undefined, as(bobKey));
    expect(theirs.body.datasets).toEqual([]);
    expect((await api.json<{ datasets: DatasetView[] }>('GET', '/v1/datasets', undefined, as(adminKey))).body.datasets.map((d) => d.id)).toContain(id);
    expect((await get(id, bobKey)).status).toBe(404);
    expect((await get(id, adminKey)).status).toBe(200);
    expect((await api.json('DELETE', `/v1/datasets/${id}`, undefined, as(bobKey))).status).toBe(404);
    expect((await datasetEvents(api, id, bobKey)).code).toBe(4404);
    expect((await get('not-an-id')).status).toBe(404);
  });

  it('shows a few training images of each class as one PNG strip, cut from the stored shards', async () => {
    const view = (await get(id)).body;
    expect(view.links).toMatchObject({ samples: `/v1/datasets/${id}/samples.png` });
    const res = await fetch(`${api.base}${view.links.samples!}`, { headers: as(aliceKey) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('x-sample-counts')).toBe('3,3,3');
    const png = Buffer.from(await res.arrayBuffer());
    expect(pngHeader(png)).toMatchObject({ width: 8 * 28, height: 3 * 28, colourType: 0 });
    const { data } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    // Each tile is one of the stored training images of its row's class.
    const manifest = (await api.services.storedDatasets.manifest(id))!;
    const shard = manifest.splits.train.shards[0]!;
    const { images, labels } = decodeShard(await api.services.storedDatasets.object(id, shard.name), shard.count, 784);
    const stored = (k: number) => [...labels.keys()].filter((i) => labels[i] === k).map((i) => Buffer.from(images.subarray(i * 784, (i + 1) * 784)).toString('hex'));
    for (let k = 0; k < 3; k++) {
      const tiles = [0, 1, 2].map((t) => {
        const tile = Buffer.alloc(784);
        for (let r = 0; r < 28; r++) data.copy(tile, r * 28, (k * 28 + r) * 8 * 28 + t * 28, (k * 28 + r) * 8 * 28 + t * 28 + 28);
        return tile.toString('hex');
      });
      expect(tiles.sort()).toEqual(stored(k).sort());
    }
    const theirs = await fetch(`${api.base}${view.links.samples!}`, { headers: as(bobKey) });
    expect(theirs.status).toBe(404);
    expect(theirs.headers.get('content-type')).toContain('application/problem+json');
  });

  it('converts as the query asks: a multipart upload at 14x14 colour, centre-cropped, named after its file', async () => {
    const res = await uploadForm(api, archive, 'my digits.zip', { query: '?imageSize=14,14&channels=3&sizeMode=centercrop', headers: as(aliceKey) });
    expect(res.status).toBe(202);
    expect(res.body.name).toBe('my digits');
    await datasetEvents(api, res.body.id, aliceKey);
    expect((await get(res.body.id)).body.description).toMatchObject({ size: [14, 14, 3], sizeMode: 'centercrop', sizeFrom: 'options' });
  });

  it('fails a corrupt archive with a sentence, keeping no upload', async () => {
    const res = await uploadRaw(api, Buffer.from('PK\u0003\u0004 this is not really a zip file at all'), { headers: as(aliceKey) });
    expect(res.status).toBe(202);
    const { events } = await datasetEvents(api, res.body.id, aliceKey);
    const failed = events.at(-1) as { type: string; error: string };
    expect(failed.type).toBe('failed');
    expect(failed.error.length).toBeGreaterThan(10);
    const view = (await get(res.body.id)).body;
    expect(view).toMatchObject({ status: 'failed', error: failed.error, bytes: 0, description: null });
    await until(async () => (await uploadsOnDisk()).length === 0, 10_000, 'upload dropped');
  });

  it('deletes a dataset: the record, its events and its stored images', async () => {
    const res = await uploadRaw(api, archive, { headers: as(aliceKey) });
    await datasetEvents(api, res.body.id, aliceKey);
    expect(await api.services.storedDatasets.manifest(res.body.id)).not.toBeNull();
    const before = await api.services.datasetRecords.usage('alice');
    const bytes = (await get(res.body.id)).body.bytes;
    expect((await api.json('DELETE', `/v1/datasets/${res.body.id}`, undefined, as(aliceKey))).status).toBe(204);
    expect((await get(res.body.id)).status).toBe(404);
    expect(await api.services.storedDatasets.manifest(res.body.id)).toBeNull();
    expect(await api.services.datasetEvents.range(res.body.id)).toEqual([]);
    expect(await api.services.datasetRecords.usage('alice')).toEqual({ count: before.count - 1, bytes: before.bytes - bytes });
    expect((await api.json('DELETE', `/v1/datasets/${res.body.id}`, undefined, as(aliceKey))).status).toBe(404);
  });
});

describe('dataset quotas', () => {
  it('refuses a tenant past TENANT_MAX_DATASETS with 403, and past TENANT_MAX_DATASET_BYTES', async () => {
    const carol = as('carol-key-0123456789abcdef');
    const results = await Promise.all(Array.from({ length: 8 }, () => uploadRaw(api, archive, { headers: carol })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(6);
    const refused = results.find((r) => r.status === 403)!;
    expect(refused.body.detail).toContain('TENANT_MAX_DATASETS');
    // Each accepted one is ingested in this process: let them end before the data folder goes.
    for (const { body } of results.filter((r) => r.status === 202)) await datasetEvents(api, body.id, 'carol-key-0123456789abcdef');

    const small = await serviceEnv('dataset-bytes', env.env['REDIS_URL']!, { TENANT_MAX_DATASET_BYTES: String(archive.length + 10) });
    const smallApi = await Api.start(small.config);
    try {
      expect((await uploadRaw(smallApi, archive)).status).toBe(202);
      const over = await uploadRaw(smallApi, archive);
      expect(over.status).toBe(403);
      expect(over.body.detail).toContain('TENANT_MAX_DATASET_BYTES');
      expect(await readdir(path.join(small.dataDir, 'uploads'))).toHaveLength(1);
    } finally {
      await smallApi.close();
      await small.cleanup();
    }
  });
});
