import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DatasetRecords } from '../../src/queue/dataset-records.js';
import { newJobId } from '../../src/queue/ids.js';
import { IngestionQueue, IngestionWorker, ingestionQueueName, lostUploadFailure, type IngestionContext, type IngestionHandler } from '../../src/queue/ingestion-queue.js';
import { connect, Keys } from '../../src/queue/redis.js';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { UploadStore } from '../../src/store/uploads.js';
import { deletePrefix, uniquePrefix } from '../helpers/redis.js';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const keys = new Keys(uniquePrefix('ingestion-queue'));
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
let redis: Redis;
let records: DatasetRecords;
let uploads: UploadStore;
let queue: IngestionQueue;
let bull: Queue;
let dir: string;
const workers: IngestionWorker[] = [];

beforeAll(async () => {
  redis = connect(url);
  records = new DatasetRecords(redis, keys);
  dir = await mkdtemp(path.join(tmpdir(), 'trainyard-ingestion-queue-'));
  uploads = new UploadStore(new FileBlobStore(dir));
  queue = new IngestionQueue({ connection: redis, keys, records, uploads, orphanSweepMs: 0 });
  bull = new Queue(ingestionQueueName, { connection: redis, prefix: keys.prefix });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});
afterAll(async () => {
  await queue.close();
  await bull.close();
  await deletePrefix(url, keys.prefix);
  redis.disconnect();
  await rm(dir, { recursive: true, force: true });
});

async function* bytes(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text);
}

async function recorded(o: { upload?: boolean; createdAt?: Date } = {}): Promise<string> {
  const id = newJobId();
  if (o.upload ?? true) await uploads.put(id, bytes('archive bytes'), 1000);
  const created = await records.create({ id, tenant: 't', name: id, createdAt: (o.createdAt ?? new Date()).toISOString(), uploadBytes: 13, options: {} }, { count: 1000, bytes: 1e9 });
  expect(created.ok).toBe(true);
  return id;
}

async function startWorker(handler: IngestionHandler): Promise<IngestionWorker> {
  // A lock far longer than the test: a dataset that came back only once its lock lapsed would time the test out.
  const worker = new IngestionWorker({ connection: redis, keys, records, handler, workerId: `w${workers.length}`, lockMs: 60_000, stalledIntervalMs: 30_000, maxStalledCount: 1, log: quiet });
  workers.push(worker);
  await worker.start();
  return worker;
}

describe('the ingestion worker on shutdown', () => {
  it('stops the ingestion under way and hands the dataset back to the queue, where another worker takes it', async () => {
    const id = await recorded();
    let started!: (ctx: IngestionContext) => void;
    const first = new Promise<IngestionContext>((resolve) => (started = resolve));
    const stopping = await startWorker({
      ingest: (ctx) => {
        started(ctx);
        // Ingests until told to stop, as ingestArchive does between two images.
        return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
      },
      abandon: () => Promise.resolve(),
    });
    await queue.add(id);
    const ctx = await first;
    expect(ctx.attempt).toBe(1);
    await stopping.close();
    expect(ctx.signal.aborted).toBe(true);
    expect(await (await bull.getJob(id))?.getState()).toBe('waiting');
    expect((await records.get(id))?.status).toBe('ingesting');

    let second!: (ctx: IngestionContext) => void;
    const next = new Promise<IngestionContext>((resolve) => (second = resolve));
    await startWorker({
      ingest: async (c) => {
        await records.fail(c.id, c.attempt, 'done by the test');
        second(c);
      },
      abandon: () => Promise.resolve(),
    });
    const retaken = await next;
    expect(retaken.attempt).toBe(2);
    expect(retaken.signal.aborted).toBe(false);
  });
});

describe('the orphan sweep', () => {
  const minAge = 60_000;
  const old = () => new Date(Date.now() - 2 * minAge);

  it('queues again an ingesting dataset with no job, and fails one whose upload is gone', async () => {
    const requeue = await recorded({ createdAt: old() });
    const lost = await recorded({ upload: false, createdAt: old() });
    const recent = await recorded();
    const queued = await recorded({ createdAt: old() });
    await queue.add(queued);
    const swept = await queue.sweepOrphans(minAge);
    expect(swept.requeued).toEqual([requeue]);
    expect(swept.failed).toEqual([lost]);
    expect(await (await bull.getJob(requeue))?.getState()).toBe('waiting');
    expect(await bull.getJob(recent)).toBeUndefined();
    expect(await records.get(lost)).toMatchObject({ status: 'failed', error: lostUploadFailure, bytes: 0 });
    expect((await records.get(recent))?.status).toBe('ingesting');
    await bull.obliterate({ force: true });
  });

  it('deletes an upload no ingesting dataset needs, once two sweeps apart have seen it so', async () => {
    const stray = newJobId();
    await uploads.put(stray, bytes('never recorded'), 1000);
    const finished = await recorded();
    await records.take(finished);
    await records.fail(finished, 1, 'bad archive'); // the worker stopped before deleting the upload
    const needed = await recorded();
    await queue.add(needed);
    const now = Date.now();
    expect((await queue.sweepOrphans(minAge, now)).uploadsDeleted).toEqual([]);
    expect((await queue.sweepOrphans(minAge, now + minAge / 2)).uploadsDeleted).toEqual([]);
    // (The first describe's dataset, failed with its upload left, goes too.)
    const deleted = (await queue.sweepOrphans(minAge, now + minAge)).uploadsDeleted;
    expect(deleted).toEqual(expect.arrayContaining([stray, finished]));
    expect(deleted).not.toContain(needed);
    expect(await uploads.list()).toContain(needed);
    expect(await uploads.list()).not.toContain(stray);
    await bull.obliterate({ force: true });
  });
});
