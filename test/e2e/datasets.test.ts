import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ingestionQueueName } from '../../src/queue/ingestion-queue.js';
import { digitsId } from '../../src/data/stored-digits.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetEvent } from '../../src/queue/dataset-records.js';
import type { Stored } from '../../src/queue/events.js';
import { datasetEvents, digitsZip, uploadForm, uploadRaw, type DatasetView } from '../helpers/datasets.js';
import { until } from '../helpers/queue.js';
import { PrivateRedis } from '../helpers/redis.js';
import { seedNetwork, Watcher } from '../helpers/service.js';
import { Stack } from '../helpers/stack.js';

/**
 * Uploaded datasets through the real service: a private redis-server, the API, and worker child
 * processes that ingest (beside training) exactly as `npm start` runs them.
 */
const aliceKey = 'alice-key-0123456789abcdef';
const bobKey = 'bob-key-0123456789abcdef';
const alice = { authorization: `Bearer ${aliceKey}` };
const cap = 2 * 1024 * 1024;

let redis: PrivateRedis;
let stack: Stack;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  // A short lock: an ingestion or a training job that starves lock renewal is declared stalled within the test.
  // Workers are started by each test, as it needs them.
  stack = await Stack.start(
    'datasets-e2e',
    redis.url,
    { API_KEYS: `alice:${aliceKey},bob:${bobKey}`, DATASET_MAX_ARCHIVE_BYTES: String(cap), JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000', PROGRESS_INTERVAL_MS: '1' },
    0,
  );
});
afterAll(async () => {
  await stack.stop();
  await redis.destroy();
});

async function view(id: string, key = aliceKey) {
  return stack.api.json<DatasetView>('GET', `/v1/datasets/${id}`, undefined, { authorization: `Bearer ${key}` });
}

/** The stored datasets' folders (a killed worker's hidden temporary folder is not one: no reader sees it). */
async function storedDatasets(): Promise<string[]> {
  // The built-in digits are stored there too (a worker writes them at start): not an upload.
  return (await readdir(path.join(stack.env.dataDir, 'datasets')).catch(() => [] as string[])).filter((name) => !name.startsWith('.') && name !== digitsId);
}

async function uploads(): Promise<string[]> {
  return readdir(path.join(stack.env.dataDir, 'uploads')).catch(() => []);
}

describe('datasets through the real service', () => {
  it('ingests a zip uploaded raw and one uploaded as a form, while a job trains on the same worker without stalling', async () => {
    const worker = await stack.startWorker();
    const job = await stack.api.submit(
      { network: seedNetwork, dataset: { id: 'digits', trainImages: 640 }, options: { maxEpochs: 2, miniBatchSize: 64, seed: 1 } },
      alice,
    );
    expect(job.status).toBe(202);
    const archive = await digitsZip(40);
    const raw = await uploadRaw(stack.api, archive, { query: '?name=digits%20raw&seed=3', headers: alice });
    const form = await uploadForm(stack.api, archive, 'digits-form.zip', { headers: alice });
    expect([raw.status, form.status]).toEqual([202, 202]);
    expect(raw.body).toMatchObject({ status: 'ingesting', name: 'digits raw' });

    for (const id of [raw.body.id, form.body.id]) {
      const { events, code } = await datasetEvents(stack.api, id, aliceKey);
      expect(code).toBe(1000);
      expect(events[0]).toMatchObject({ type: 'status', status: 'ingesting' });
      const progress = events.filter((e): e is Stored<Extract<DatasetEvent, { type: 'progress' }>> => e.type === 'progress');
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.at(-1)).toMatchObject({ read: 400, total: 400 });
      expect(events.at(-1)).toMatchObject({ type: 'ready' });
      const ready = (await view(id)).body;
      expect(ready.description).toMatchObject({ classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], size: [28, 28, 1], layout: 'folders' });
      const { train, test } = ready.description!.splits;
      expect(train!.count + test!.count).toBe(400);
      expect(test!.perClass).toEqual(Array(10).fill(8));
      expect(ready.attempts).toBe(1);
    }
    expect((await view(form.body.id)).body.name).toBe('digits-form');
    // Each upload is dropped just after its outcome is recorded (and its event sent).
    await until(async () => (await uploads()).length === 0, 10_000, 'uploads dropped');
    expect(await storedDatasets()).toEqual(expect.arrayContaining([raw.body.id, form.body.id]));

    let status = '';
    await until(async () => ['completed', 'failed', 'cancelled'].includes((status = (await stack.api.json<{ status: string }>('GET', `/v1/jobs/${job.body.id}`, undefined, alice)).body.status)), 120_000, 'job finished');
    expect(status).toBe('completed');
    expect(worker.log).not.toContain('stalled');
  });

  it('fails a corrupt archive with a sentence, is 404 to another tenant, refuses an upload over the cap, and deletes', async () => {
    await (stack.workers[0] ?? stack.startWorker());
    const corrupt = await uploadRaw(stack.api, Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(3000, 1)]), { headers: alice });
    expect(corrupt.status).toBe(202);
    const { events } = await datasetEvents(stack.api, corrupt.body.id, aliceKey);
    const failed = (await view(corrupt.body.id)).body;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/\w+ \w+ \w+/);
    expect(events.at(-1)).toMatchObject({ type: 'failed', error: failed.error });

    expect((await view(corrupt.body.id, bobKey)).status).toBe(404);
    expect((await datasetEvents(stack.api, corrupt.body.id, bobKey)).code).toBe(4404);

    await until(async () => (await uploads()).length === 0, 10_000, 'upload dropped');
    const before = await storedDatasets();
    const over = await uploadRaw(stack.api, Buffer.alloc(cap + 1), { headers: alice });
    expect(over.status).toBe(413);
    expect(await uploads()).toEqual([]);
    expect(await storedDatasets()).toEqual(before);

    for (const id of [corrupt.body.id, ...before]) {
      expect((await stack.api.json('DELETE', `/v1/datasets/${id}`, undefined, alice)).status).toBe(204);
    }
    expect(await storedDatasets()).toEqual([]);
    expect((await stack.api.json<{ datasets: unknown[] }>('GET', '/v1/datasets', undefined, alice)).body.datasets).toEqual([]);
  });

  it('finishes a dataset whose worker died mid-ingestion on another worker, once, with its second attempt', async () => {
    await Promise.all(stack.workers.splice(0).map((w) => w.kill('SIGKILL')));
    const doomed = await stack.startWorker();
    const res = await uploadRaw(stack.api, await digitsZip(150), { headers: alice });
    expect(res.status).toBe(202);
    const watcher = new Watcher(`${stack.api.base.replace('http', 'ws')}/v1/datasets/${res.body.id}/events`, ['trainyard.v1', `trainyard.key.${aliceKey}`]);
    await watcher.until((e) => e.type === 'progress', 60_000);
    await doomed.kill('SIGKILL');
    stack.workers.splice(stack.workers.indexOf(doomed), 1);
    await stack.startWorker();
    await watcher.closed;
    const events = watcher.events as unknown as Stored<DatasetEvent>[];
    expect(events.filter((e) => e.type === 'ready' || e.type === 'failed')).toEqual([expect.objectContaining({ type: 'ready' })]);
    const ready = (await view(res.body.id)).body;
    expect(ready).toMatchObject({ status: 'ready', attempts: 2, progress: { read: 1500, total: 1500 } });
    await until(async () => (await uploads()).length === 0, 10_000, 'upload removed');
    expect(await storedDatasets()).toEqual([res.body.id]);
  });

  it('hands a dataset under way back to the queue when its worker is stopped with SIGTERM', async () => {
    await Promise.all(stack.workers.splice(0).map((w) => w.kill('SIGKILL')));
    const stopping = await stack.startWorker();
    const res = await uploadRaw(stack.api, await digitsZip(150), { headers: alice });
    const watcher = new Watcher(`${stack.api.base.replace('http', 'ws')}/v1/datasets/${res.body.id}/events`, ['trainyard.v1', `trainyard.key.${aliceKey}`]);
    await watcher.until((e) => e.type === 'progress', 60_000);
    expect(await stopping.kill('SIGTERM')).toBe(0);
    stack.workers.splice(stack.workers.indexOf(stopping), 1);
    // Back in the queue at once, not once its lock lapsed (that would make it 'active', then stalled).
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(ingestionQueueName, { connection, prefix: stack.env.config.redis.prefix });
    try {
      expect(await (await queue.getJob(res.body.id))?.getState()).toBe('waiting');
    } finally {
      await queue.close();
      connection.disconnect();
    }
    expect((await view(res.body.id)).body).toMatchObject({ status: 'ingesting', attempts: 1 });
    await stack.startWorker();
    await watcher.closed;
    expect((await view(res.body.id)).body).toMatchObject({ status: 'ready', attempts: 2, progress: { read: 1500, total: 1500 } });
    await until(async () => (await uploads()).length === 0, 10_000, 'upload removed');
  });
});
