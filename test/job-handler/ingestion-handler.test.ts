import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ingestionHandler } from '../../src/job-handler/ingestion-handler.js';
import { DatasetRecords } from '../../src/queue/dataset-records.js';
import { newJobId } from '../../src/queue/ids.js';
import { connect, Keys } from '../../src/queue/redis.js';
import { DatasetStore } from '../../src/store/datasets.js';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { UploadStore } from '../../src/store/uploads.js';
import { digitsZip } from '../helpers/datasets.js';
import { deletePrefix, uniquePrefix } from '../helpers/redis.js';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const keys = new Keys(uniquePrefix('ingestion-handler'));
let redis: Redis;
let dir: string;

beforeAll(async () => {
  redis = connect(url);
  dir = await mkdtemp(path.join(tmpdir(), 'trainyard-ingestion-handler-'));
});
afterAll(async () => {
  await deletePrefix(url, keys.prefix);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

it('stopped by its signal part way, records nothing and keeps the upload for the next attempt', async () => {
  const records = new DatasetRecords(redis, keys);
  const blobs = new FileBlobStore(dir);
  const uploads = new UploadStore(blobs);
  const datasets = new DatasetStore(blobs);
  const handler = ingestionHandler(loadConfig({ PROGRESS_INTERVAL_MS: '1' }), { records, uploads, datasets, log: { warn: () => {}, error: () => {} } });
  const id = newJobId();
  const archive = await digitsZip(100, 3);
  await uploads.put(id, (async function* () { yield archive; })(), archive.length);
  await records.create({ id, tenant: 't', name: id, createdAt: new Date().toISOString(), uploadBytes: archive.length, options: {} }, { count: 10, bytes: 1e9 });
  const taken = await records.take(id);
  if (!taken.ok) throw new Error('not taken');
  const controller = new AbortController();
  const read: number[] = [];
  // Stops once the first images were converted, as a worker's shutdown does.
  const watching = setInterval(() => void records.get(id).then((r) => r?.progress && (read.push(r.progress.read), controller.abort())), 5);
  try {
    await handler.ingest({ id, attempt: taken.attempt, holds: () => records.holds(id, taken.attempt), signal: controller.signal });
  } finally {
    clearInterval(watching);
  }
  expect(read.length).toBeGreaterThan(0);
  expect(await records.get(id)).toMatchObject({ status: 'ingesting', error: null });
  expect(await uploads.list()).toEqual([id]);
  expect(await datasets.list()).toEqual([]);
});
