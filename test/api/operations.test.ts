import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushWorkerMetrics } from '../../src/metrics/pushed-metrics.js';
import { WorkerMetrics } from '../../src/metrics/worker-metrics.js';
import type { ProgressRecord } from '../../src/nn/train.js';
import { saveTestModel } from '../helpers/models.js';
import { QueueHarness, stubMetrics, until } from '../helpers/queue.js';
import { Api, seedNetwork, serviceEnv, WorkerProcess, type ServiceEnv } from '../helpers/service.js';

/** GET /metrics, GET /v1/admin/workers and Bull Board: what they show, and that only admin keys see them. */
const aliceKey = 'alice-key-0123456789abcdef';
const adminKey = 'admin-key-0123456789abcdef';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const request = { network: seedNetwork, dataset: 'digits', options: { maxEpochs: 1 } };
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

let harness: QueueHarness;
let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  harness = await QueueHarness.start('operations', redisUrl);
  env = await serviceEnv('operations', redisUrl, { REDIS_PREFIX: harness.keys.prefix, API_KEYS: `alice:${aliceKey}`, ADMIN_API_KEYS: adminKey });
  api = await Api.start(env.config);
  await saveTestModel(env.dataDir, 'alice-model', { tenant: 'alice' });
});
afterAll(async () => {
  await api.close();
  await harness.close();
  await env.cleanup();
});

async function metrics(): Promise<string> {
  const res = await fetch(`${api.base}/metrics`, { headers: as(adminKey) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

/** The value of one series in the text format, or undefined when it is not there. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('admin-only operations routes', () => {
  it('answer 401 without a key and 403 to a tenant key, decided on the matched route', async () => {
    for (const url of ['/metrics', '/v1/admin/workers', '/admin/queues', '/admin/queues/api/queues', '/%6detrics', '/%61dmin/queues', '/v1/%61dmin/workers']) {
      expect((await api.json('GET', url)).status, url).toBe(401);
      const forbidden = await fetch(api.base + url, { headers: as(aliceKey) });
      expect(forbidden.status, url).toBe(403);
      expect(forbidden.headers.get('content-type'), url).toContain('application/problem+json');
    }
  });

  it('mount Bull Board for admin keys, read-only by default', async () => {
    const page = await fetch(`${api.base}/admin/queues`, { headers: as(adminKey) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const queues = await api.json<{ queues: { name: string; readOnlyMode: boolean }[] }>('GET', '/admin/queues/api/queues', undefined, as(adminKey));
    expect(queues.status).toBe(200);
    expect(queues.body.queues.map((q) => [q.name, q.readOnlyMode])).toEqual([['training', true]]);
  });

  it('list each live worker with its host, state, backend and GPU adapter for admin keys; public /readyz only counts them', async () => {
    const adapter = { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' };
    const gpuWorker = { id: 'gpu-host-1', state: 'warming-up' as const, backend: { name: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', device: 'gpu' as const, adapter }, startedAt: new Date().toISOString() };
    const cpuWorker = { id: 'cpu-host-2', state: 'ready' as const, backend: { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'cpu' as const }, startedAt: new Date().toISOString() };
    await Promise.all([api.services.workers.announce(gpuWorker), api.services.workers.announce(cpuWorker)]);
    try {
      const listed = await api.json('GET', '/v1/admin/workers', undefined, as(adminKey));
      expect(listed.status).toBe(200);
      expect(listed.body).toEqual({ queue: { waiting: 0, active: 0, delayed: 0 }, workers: [cpuWorker, gpuWorker] });
      const ready = await fetch(`${api.base}/readyz`);
      const text = await ready.text();
      expect(JSON.parse(text)).toEqual({ status: 'ready', workers: { ready: 1, warmingUp: 1 } });
      for (const detail of ['gpu-host-1', 'cpu-host-2', 'NVIDIA', 'webgpu', 'wasm']) expect(text, detail).not.toContain(detail);
    } finally {
      await Promise.all([api.services.workers.withdraw(gpuWorker.id), api.services.workers.withdraw(cpuWorker.id)]);
    }
  });
});

describe('GET /metrics', () => {
  it('counts requests by matched route and status, queue depth, watchers, predict and store operations', async () => {
    const { body } = await api.submit(request, as(aliceKey));
    expect((await api.json('GET', `/v1/jobs/${body.id}`, undefined, as(aliceKey))).status).toBe(200);
    expect((await api.json('GET', '/v1/jobs/01M8EARDPPXFHX04V8JXSJXWXS', undefined, as(aliceKey))).status).toBe(404);
    const image = Array.from({ length: 28 }, () => Array.from({ length: 28 }, () => [0]));
    expect((await api.json('POST', '/v1/models/alice-model/predict', { instances: [image, image, image] }, as(aliceKey))).status).toBe(200);
    const watcher = api.watch(body.id);
    watcher.socket.once('open', () => watcher.socket.send(JSON.stringify({ type: 'auth', key: aliceKey })));
    await watcher.until((e) => e.type === 'status');
    await until(() => api.services.follower.readers === 1, 10_000, 'the watcher following');

    const text = await metrics();
    expect(value(text, 'trainyard_http_request_duration_seconds_count{method="GET",route="/v1/jobs/:id",status_code="200"}')).toBe(1);
    expect(value(text, 'trainyard_http_request_duration_seconds_count{method="GET",route="/v1/jobs/:id",status_code="404"}')).toBe(1);
    expect(text).not.toContain(body.id);
    expect(value(text, 'trainyard_queue_jobs{state="waiting"}')).toBe(1);
    expect(value(text, 'trainyard_workers')).toBe(0);
    expect(value(text, 'trainyard_event_watchers')).toBe(1);
    expect(value(text, 'trainyard_predict_batch_size_sum')).toBe(3);
    expect(value(text, 'trainyard_predict_duration_seconds_count')).toBe(1);
    expect(value(text, 'trainyard_store_operations_total{operation="get"}')).toBeGreaterThan(0);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    watcher.socket.close();
    await watcher.closed;
  });

  it("serves each live worker's pushed metrics, labelled by worker: jobs started and ended, iterations", async () => {
    const workerMetrics = new WorkerMetrics('stub-worker');
    const stopPushing = pushWorkerMetrics(harness.connection, harness.keys, 'stub-worker', workerMetrics.registry, 100, () => workerMetrics.updateRate());
    try {
      const progress = (iteration: number): ProgressRecord => ({ epoch: 1, iteration, totalIterations: 10, timeElapsed: iteration, miniBatchLoss: 1, miniBatchAccuracy: 0.5, baseLearnRate: 0.01, verbose: false });
      await harness.worker(
        'stub-worker',
        async (ctx) => {
          for (const i of [4, 10]) await ctx.publishProgress(progress(i));
          return { modelId: ctx.id, metrics: stubMetrics };
        },
        { observer: workerMetrics },
      );
      // The job submitted above (waiting) runs now, and so does this one.
      const second = await api.submit(request, as(aliceKey));
      await until(async () => {
        const text = await metrics();
        return value(text, 'trainyard_jobs_finished_total{outcome="completed",worker="stub-worker"}') === 2;
      }, 20_000, 'both jobs completed, in the pushed metrics');
      expect(second.status).toBe(202);
      const text = await metrics();
      expect(value(text, 'trainyard_jobs_started_total{worker="stub-worker"}')).toBe(2);
      expect(value(text, 'trainyard_training_iterations_total{worker="stub-worker"}')).toBe(20);
      expect(text).toContain('trainyard_training_iterations_per_second{worker="stub-worker"}');
      expect(value(text, 'trainyard_workers')).toBe(1);
      // The API's process metrics stay its own, beside the workers' series.
      expect(text).toContain('process_start_time_seconds');
    } finally {
      await stopPushing();
    }
  });

  it('shows a real worker process from its first push, and forgets it once it stops', async () => {
    const worker = await WorkerProcess.start(env.env);
    const series = `trainyard_jobs_started_total{worker="${/"workerId":"([^"]+)"/.exec(worker.log)?.[1]}"}`;
    try {
      await until(async () => value(await metrics(), series) === 0, 20_000, 'the worker process in /metrics');
    } finally {
      expect(await worker.kill('SIGTERM')).toBe(0);
    }
    expect(value(await metrics(), series)).toBeUndefined();
  });
});
