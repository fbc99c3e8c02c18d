import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { readFileSync } from 'node:fs';
import { Api, seedNetwork, serviceEnv, type ServiceEnv } from '../helpers/service.js';
import { bullBoardPath } from '../../src/api/operations/bull-board.js';

/** The API against the machine's Redis (a key prefix of its own), with no worker: jobs stay queued. */
let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  env = await serviceEnv('jobs', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { MAX_EPOCHS: '50', JOB_BODY_LIMIT_BYTES: '100000' });
  api = await Api.start(env.config);
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

const errorsOf = (body: object) => (body as { errors: { path: string; message: string }[] }).errors;
const request = (overrides: Record<string, unknown> = {}) => ({ network: seedNetwork, dataset: 'digits', options: { maxEpochs: 1 }, ...overrides });

function expectProblem(res: { status: number; body: object; headers: Headers }, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body).toMatchObject({ status, type: expect.stringMatching(/^urn:trainyard:problem:/), title: expect.any(String), detail: expect.any(String) });
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+|node_modules|\/work\//);
}

describe('POST /v1/jobs', () => {
  it('queues a valid job: 202, Location, links, and it is listed and readable', async () => {
    const res = await api.submit(request({ name: 'first' }));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', name: 'first', attempts: 0, progress: null, modelId: null, error: null });
    expect(res.headers.get('location')).toBe(`/v1/jobs/${res.body.id}`);
    expect(res.body.links).toEqual({ self: `/v1/jobs/${res.body.id}`, events: `/v1/jobs/${res.body.id}/events` });
    const read = await api.json('GET', `/v1/jobs/${res.body.id}`);
    expect(read.body).toMatchObject({ id: res.body.id, status: 'queued', createdAt: res.body.createdAt });
    expect((await api.json('GET', `/v1/jobs/${res.body.id}/network`)).body).toEqual({ network: seedNetwork });
  });

  it('answers 400 with every problem and its path before queueing anything', async () => {
    const network = structuredClone(seedNetwork);
    network.layers[3] = { type: 'elu', numChannels: 16 };
    network.layers[1] = { type: 'convolution2d', filterSize: 31, numFilters: 20 };
    const before = (await api.json<{ jobs: unknown[] }>('GET', '/v1/jobs?limit=100')).body.jobs.length;
    const res = await api.submit(request({ network, options: { maxEpochs: 0, solver: 'sgd', bogus: true } }));
    expectProblem(res, 400);
    expect(errorsOf(res.body)).toEqual([
      { path: 'network.layers[1].filterSize', message: 'layers[1] (convolution2d): filterSize 31 is larger than its 28x28 input' },
      { path: 'options.solver', message: 'options: solver must be one of "sgdm", "adam", "rmsprop", not "sgd"' },
      { path: 'options.maxEpochs', message: 'options: maxEpochs must be at least 1, not 0' },
      { path: 'options.bogus', message: expect.stringContaining("options: unknown field 'bogus'") },
    ]);
    expect((await api.json<{ jobs: unknown[] }>('GET', '/v1/jobs?limit=100')).body.jobs.length).toBe(before);
  });

  it('names each class of bad request', async () => {
    const cases: [unknown, string][] = [
      [{ dataset: 'digits' }, 'network'],
      [request({ extra: 1 }), 'extra'],
      [request({ dataset: 'cifar' }), 'dataset'],
      [request({ dataset: { id: 'nope' } }), 'dataset.id'],
      [request({ dataset: { id: 'digits', trainImages: 0 } }), 'dataset'],
      [request({ options: { maxEpochs: 51 } }), 'options.maxEpochs'],
      [request({ options: { augmentation: { randRotation: [10, -10] } } }), 'options.augmentation.randRotation'],
      [request({ options: { augmentation: { randScale: [1] } } }), 'options.augmentation.randScale'],
      [request({ options: { augmentation: { randShear: [0, 1] } } }), 'options.augmentation.randShear'],
      [request({ options: { checkpointFrequency: 0 } }), 'options.checkpointFrequency'],
      [request({ options: { checkpointFrequencyUnit: 'minute' } }), 'options.checkpointFrequencyUnit'],
      [request({ name: '' }), 'name'],
      [request({ network: { layers: [{ type: 'imageInput', inputSize: [32, 32, 3] }, { type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' }] } }), 'network.layers[0].inputSize'],
      [request({ network: { layers: [{ type: 'imageInput', inputSize: [28, 28] }, { type: 'fullyConnected', outputSize: 3 }, { type: 'softmax' }, { type: 'classification' }] } }), 'network.layers[3]'],
      [request({ network: { layers: 'all of them' } }), 'network.layers'],
    ];
    for (const [body, path] of cases) {
      const res = await api.submit(body);
      expectProblem(res, 400);
      expect(errorsOf(res.body).map((e) => e.path), JSON.stringify(body).slice(0, 80)).toContain(path);
    }
  });

  it('rejects malformed JSON, a wrong content type and an oversized body as problems', async () => {
    const malformed = await fetch(`${api.base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"network": ' });
    expectProblem({ status: malformed.status, body: (await malformed.json()) as Record<string, unknown>, headers: malformed.headers }, 400);
    const text = await fetch(`${api.base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'train please' });
    expectProblem({ status: text.status, body: (await text.json()) as Record<string, unknown>, headers: text.headers }, 415);
    const huge = await api.submit(request({ name: 'x'.repeat(50), options: { maxEpochs: 1 }, padding: 'y'.repeat(200_000) }));
    expectProblem(huge, 413);
  });

  it('returns the same job for a repeated Idempotency-Key, and 422 when the key is reused for another request', async () => {
    const key = `key-${Date.now()}`;
    const first = await api.submit(request({ name: 'idem' }), { 'idempotency-key': key });
    const again = await api.submit(request({ name: 'idem' }), { 'idempotency-key': key });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    const other = await api.submit(request({ name: 'different' }), { 'idempotency-key': key });
    expectProblem(other, 422);
    const concurrent = await Promise.all([1, 2, 3].map(() => api.submit(request({ name: 'race' }), { 'idempotency-key': `${key}-race` })));
    expect(new Set(concurrent.map((r) => r.body.id)).size).toBe(1);
  });
});

describe('GET /v1/jobs', () => {
  it('lists newest first, filters by status and pages with a cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await api.submit(request({ name: `page-${i}` }))).body.id);
    const first = await api.json<{ jobs: { id: string }[]; nextCursor: string }>('GET', '/v1/jobs?limit=2&status=queued');
    expect(first.body.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    const second = await api.json<{ jobs: { id: string }[] }>('GET', `/v1/jobs?limit=2&status=queued&cursor=${first.body.nextCursor}`);
    expect(second.body.jobs[0]!.id).toBe(ids[0]);
    expectProblem(await api.json('GET', '/v1/jobs?status=sleeping'), 400);
    expectProblem(await api.json('GET', '/v1/jobs?limit=1000'), 400);
    expectProblem(await api.json('GET', '/v1/jobs?cursor=../../x'), 400);
  });
});

describe('unknown ids', () => {
  it('answers 404 problems for jobs, models and routes that do not exist', async () => {
    expectProblem(await api.json('GET', '/v1/jobs/01M8EARDPPXFHX04V8JXSJXWXS'), 404);
    expectProblem(await api.json('GET', '/v1/jobs/not-a-job'), 404);
    expectProblem(await api.json('DELETE', '/v1/jobs/01M8EARDPPXFHX04V8JXSJXWXS'), 404);
    expectProblem(await api.json('GET', '/v1/jobs/01M8EARDPPXFHX04V8JXSJXWXS/network'), 404);
    expectProblem(await api.json('GET', '/v1/models/nope'), 404);
    expectProblem(await api.json('DELETE', '/v1/models/nope'), 404);
    expectProblem(await api.json('GET', '/v1/models/nope/files/model.json'), 404);
    expectProblem(await api.json('POST', '/v1/models/nope/predict', { instances: [[1]] }), 404);
    expectProblem(await api.json('GET', '/v1/nothing-here'), 404);
  });

  it('closes the event socket with 4404 for an unknown job and 4400 for a malformed since', async () => {
    expect(await api.watch('01M8EARDPPXFHX04V8JXSJXWXS').closed).toMatchObject({ code: 4404 });
    const { body } = await api.submit(request());
    expect(await api.watch(body.id, 'yesterday').closed).toMatchObject({ code: 4400 });
  });
});

describe('DELETE /v1/jobs/:id on a queued job', () => {
  it('cancels it at once, publishes the terminal event, and refuses a second cancel with 409', async () => {
    const { body } = await api.submit(request({ name: 'to-cancel' }));
    const cancelled = await api.json('DELETE', `/v1/jobs/${body.id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', finishedAt: expect.any(String) });
    const again = await api.json('DELETE', `/v1/jobs/${body.id}`);
    expectProblem(again, 409);
    expect(again.body['jobStatus']).toBe('cancelled');
    const watcher = api.watch(body.id);
    expect(await watcher.closed).toMatchObject({ code: 1000 });
    expect(watcher.events.map((e) => e.type)).toEqual(['status', 'cancelled']);
    expect(await api.services.queue.depth()).toMatchObject({ active: 0 });
  });
});

describe('POST /v1/jobs/:id/pause and /resume on a queued job', () => {
  it('pauses it at once (listed as paused), resumes it to the queue, answers repeats as they are, and refuses a finished job with 409', async () => {
    const { body } = await api.submit(request({ name: 'to-pause' }));
    const paused = await api.json('POST', `/v1/jobs/${body.id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ status: 'paused', pauseRequested: false });
    expect((await api.json('POST', `/v1/jobs/${body.id}/pause`)).body).toMatchObject({ status: 'paused' });
    const listed = await api.json<{ jobs: { id: string }[] }>('GET', '/v1/jobs?status=paused');
    expect(listed.body.jobs.map((j) => j.id)).toContain(body.id);

    const resumed = await api.json('POST', `/v1/jobs/${body.id}/resume`);
    expect(resumed.status).toBe(202);
    expect(resumed.body).toMatchObject({ status: 'queued' });
    const again = await api.json('POST', `/v1/jobs/${body.id}/resume`);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'queued' });

    expect((await api.json('POST', `/v1/jobs/${body.id}/pause`)).status).toBe(200);
    expect((await api.json('DELETE', `/v1/jobs/${body.id}`)).body).toMatchObject({ status: 'cancelled' });
    for (const action of ['pause', 'resume']) {
      const refused = await api.json('POST', `/v1/jobs/${body.id}/${action}`);
      expectProblem(refused, 409);
      expect(refused.body).toMatchObject({ jobStatus: 'cancelled', detail: expect.stringContaining(`cannot be ${action}d`) });
    }
    const watcher = api.watch(body.id);
    expect(await watcher.closed).toMatchObject({ code: 1000 });
    expect(watcher.events.map((e) => (e.type === 'status' ? e.status : e.type))).toEqual(['queued', 'paused', 'queued', 'paused', 'cancelled']);
    expectProblem(await api.json('POST', '/v1/jobs/01M8EARDPPXFHX04V8JXSJXWXS/pause'), 404);
    expectProblem(await api.json('POST', '/v1/jobs/not-a-job/resume'), 404);
  });
});

describe('health and the OpenAPI document', () => {
  it('is healthy and ready, counting the live workers', async () => {
    expect((await api.json('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await api.json('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', workers: { ready: 0, warmingUp: 0 } });
    // The queue's depth is an admin's (this API has no keys: its caller is the local admin).
    const listed = await api.json<{ queue: { waiting: number }; workers: unknown[] }>('GET', '/v1/admin/workers');
    expect(listed.body.workers).toEqual([]);
    expect(listed.body.queue.waiting).toBeGreaterThan(0);
  });

  it('serves openapi.yaml, and it documents exactly the routes the server registers', async () => {
    const res = await fetch(`${api.base}/openapi.yaml`);
    expect(res.headers.get('content-type')).toContain('yaml');
    const served = YAML.parse(await res.text()) as { paths: Record<string, Record<string, unknown>> };
    expect(served).toEqual(YAML.parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')));
    const documented = Object.entries(served.paths).flatMap(([p, ops]) =>
      Object.keys(ops)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    // Bull Board's pages and JSON (a third-party dashboard, admin keys only) are not the API's to describe.
    const registered = routeList(api.fastify.printRoutes({ commonPrefix: false })).filter((r) => !r.split(' ')[1]!.startsWith(bullBoardPath));
    expect(registered.sort()).toEqual(documented.sort());
  });
});

/** "METHOD /path" for every route, read from Fastify's route tree (HEAD routes are implicit). */
function routeList(tree: string): string[] {
  const routes: string[] = [];
  const stack: { depth: number; path: string }[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)(?:[└├]── )(\S+)(?: \(([^)]*)\))?/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length;
    while (stack.length && stack.at(-1)!.depth >= depth) stack.pop();
    const full = (stack.at(-1)?.path ?? '') + match[2]!;
    stack.push({ depth, path: full });
    for (const method of (match[3] ?? '').split(', ').filter((m) => m && m !== 'HEAD')) routes.push(`${method} ${full}`);
  }
  return routes;
}
