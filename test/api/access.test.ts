import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { addKey } from '../../src/api/keys.js';
import { saveTestModel } from '../helpers/models.js';
import { Api, seedNetwork, serviceEnv, Watcher, type ServiceEnv } from '../helpers/service.js';

const aliceKey = 'alice-key-0123456789abcdef';
const bobKey = 'bob-key-0123456789abcdef';
const adminKey = 'admin-key-0123456789abcdef';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const request = { network: seedNetwork, dataset: 'digits', options: { maxEpochs: 1 } };

let env: ServiceEnv;
let api: Api;
let keysDir: string;
let fileKey: string;

beforeAll(async () => {
  keysDir = await mkdtemp(path.join(tmpdir(), 'trainyard-keys-'));
  const keysFile = path.join(keysDir, 'keys.json');
  fileKey = await addKey(keysFile, 'carol', false);
  env = await serviceEnv('access', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', {
    API_KEYS: `alice:${aliceKey},bob:${bobKey}`,
    ADMIN_API_KEYS: adminKey,
    API_KEYS_FILE: keysFile,
    TENANT_MAX_QUEUED_JOBS: '3',
    TENANT_MAX_MODELS: '1',
    MAX_TRAINING_MEMORY_BYTES: String(64 * 1024 * 1024),
  });
  api = await Api.start(env.config);
  await saveTestModel(env.dataDir, 'alice-model', { seed: 2, tenant: 'alice' });
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
  await rm(keysDir, { recursive: true, force: true });
});

describe('API keys', () => {
  it('answers 401 without a key, with a wrong key and with a malformed header, and leaves health open', async () => {
    for (const headers of [{}, as('wrong-key-0123456789abcdef'), { authorization: 'Basic abc' }]) {
      const res = await api.json('GET', '/v1/jobs', undefined, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="trainyard"');
    }
    expect((await api.json('POST', '/v1/jobs', request)).status).toBe(401);
    expect((await api.json('GET', '/healthz')).status).toBe(200);
    expect((await api.json('GET', '/readyz')).status).toBe(200);
    expect((await api.json('GET', '/v1/jobs', undefined, as(aliceKey))).status).toBe(200);
  });

  it('accepts a key created with npm run api-key, stored in the file only as a hash', async () => {
    expect((await api.json('GET', '/v1/jobs', undefined, as(fileKey))).status).toBe(200);
    const stored = await readFile(path.join(keysDir, 'keys.json'), 'utf8');
    expect(stored).not.toContain(fileKey);
    expect(stored).toMatch(/"sha256": "[0-9a-f]{64}"/);
  });
});

describe('tenants', () => {
  it("hides one tenant's jobs from another (404, not 403) and shows all to an admin key", async () => {
    const bobs = await api.submit(request, as(bobKey));
    expect(bobs.status).toBe(202);
    expect(bobs.body.tenant).toBe('bob');
    const id = bobs.body.id;
    for (const [method, url] of [
      ['GET', `/v1/jobs/${id}`],
      ['GET', `/v1/jobs/${id}/network`],
      ['DELETE', `/v1/jobs/${id}`],
      ['POST', `/v1/jobs/${id}/pause`],
      ['POST', `/v1/jobs/${id}/resume`],
    ] as const) {
      const res = await api.json(method, url, undefined, as(aliceKey));
      expect(res.status).toBe(404);
      expect(JSON.stringify(res.body)).not.toContain('bob');
    }
    expect((await api.json('GET', `/v1/jobs/${id}`, undefined, as(bobKey))).body).toMatchObject({ status: 'queued', cancelRequested: false, pauseRequested: false });
    const alices = await api.json<{ jobs: { id: string }[] }>('GET', '/v1/jobs', undefined, as(aliceKey));
    expect(alices.body.jobs.map((j) => j.id)).not.toContain(id);
    const admin = await api.json<{ jobs: { id: string }[] }>('GET', '/v1/jobs?limit=100', undefined, as(adminKey));
    expect(admin.body.jobs.map((j) => j.id)).toContain(id);
    expect((await api.json('GET', `/v1/jobs/${id}`, undefined, as(adminKey))).status).toBe(200);
  });

  it("hides one tenant's models from another on every model route", async () => {
    const bob = as(bobKey);
    expect((await api.json<{ models: unknown[] }>('GET', '/v1/models', undefined, bob)).body.models).toEqual([]);
    for (const [method, url, body] of [
      ['GET', '/v1/models/alice-model', undefined],
      ['GET', '/v1/models/alice-model/files/model.json', undefined],
      ['GET', '/v1/models/alice-model/files/weights.bin', undefined],
      ['GET', '/v1/models/alice-model/misclassified.png', undefined],
      ['POST', '/v1/models/alice-model/predict', { instances: [new Array(784).fill(0)] }],
      ['DELETE', '/v1/models/alice-model', undefined],
    ] as const) {
      expect((await api.json(method, url, body, bob)).status, `${method} ${url}`).toBe(404);
    }
    expect((await api.json('GET', '/v1/models/alice-model', undefined, as(aliceKey))).status).toBe(200);
    expect((await api.json('GET', '/v1/models/alice-model', undefined, as(adminKey))).status).toBe(200);
  });

  it('authenticates the events WebSocket by header, subprotocol or first message, and hides other tenants', async () => {
    const { body } = await api.submit(request, as(bobKey));
    const url = `${api.base.replace('http', 'ws')}/v1/jobs/${body.id}/events`;
    const firstEvent = (socket: WebSocket) => new Promise<string>((resolve) => socket.once('message', (d) => resolve(String(d))));

    const byHeader = new WebSocket(url, { headers: as(bobKey) });
    expect(JSON.parse(await firstEvent(byHeader))).toMatchObject({ type: 'status', status: 'queued' });
    byHeader.close();

    const byProtocol = new WebSocket(url, ['trainyard.v1', `trainyard.key.${bobKey}`]);
    expect(JSON.parse(await firstEvent(byProtocol))).toMatchObject({ type: 'status' });
    expect(byProtocol.protocol).toBe('trainyard.v1');
    byProtocol.close();

    const byMessage = new WebSocket(url);
    byMessage.once('open', () => byMessage.send(JSON.stringify({ type: 'auth', key: bobKey })));
    expect(JSON.parse(await firstEvent(byMessage))).toMatchObject({ type: 'status' });
    byMessage.close();

    const wrongTenant = new Watcher(url);
    wrongTenant.socket.once('open', () => wrongTenant.socket.send(JSON.stringify({ type: 'auth', key: aliceKey })));
    expect(await wrongTenant.closed).toMatchObject({ code: 4404 });

    const noKey = new Watcher(url);
    noKey.socket.once('open', () => noKey.socket.send('hello'));
    expect(await noKey.closed).toMatchObject({ code: 4401 });

    const badProtocolKey = new WebSocket(url, ['trainyard.v1', 'trainyard.key.not-a-valid-key-at-all']);
    const failure = await new Promise<number>((resolve) => {
      badProtocolKey.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      badProtocolKey.once('error', () => resolve(-1));
    });
    expect(failure).toBe(401);
  });
});

describe('limits', () => {
  it('refuses a tenant more queued jobs than TENANT_MAX_QUEUED_JOBS (429), per tenant', async () => {
    const carol = as(fileKey);
    for (let i = 0; i < 3; i++) expect((await api.submit(request, carol)).status).toBe(202);
    const refused = await api.submit(request, carol);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect((refused.body as unknown as { detail: string }).detail).toContain('TENANT_MAX_QUEUED_JOBS');
    expect((await api.submit(request, as(adminKey))).status).toBe(202);
  });

  it('refuses new jobs once a tenant keeps TENANT_MAX_MODELS models (403)', async () => {
    const res = await api.submit(request, as(aliceKey));
    expect(res.status).toBe(403);
    expect((res.body as unknown as { type: string }).type).toBe('urn:trainyard:problem:quota-exceeded');
  });

  it('refuses a network whose training would need more memory than MAX_TRAINING_MEMORY_BYTES, with the estimate', async () => {
    const big = structuredClone(seedNetwork);
    big.layers[1] = { type: 'convolution2d', filterSize: 3, numFilters: 256, padding: 'same' };
    big.layers[3] = { type: 'elu' };
    const res = await api.submit({ ...request, network: big, options: { miniBatchSize: 256 } }, as(bobKey));
    expect(res.status).toBe(400);
    const error = (res.body as unknown as { errors: { path: string; message: string }[] }).errors[0]!;
    expect(error.path).toBe('network.layers[1]');
    expect(error.message).toMatch(/^training this network needs about [\d.]+ GiB \(activations [\d.]+ GiB for mini-batches of 256, learnables with gradients and solver state [\d.]+ MiB\), more than the 64 MiB a worker has \(MAX_TRAINING_MEMORY_BYTES, and the backend's [\d.]+ GiB heap\); layer 'conv_1' needs the most/);
  });
});

describe('response headers', () => {
  it('sets security headers and no CORS headers by default', async () => {
    const res = await fetch(`${api.base}/healthz`, { headers: { origin: 'https://elsewhere.example' } });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('logs', () => {
  it('never contain an API key, whether it is accepted, refused or sent on a socket', async () => {
    const { default: Fastify } = await import('fastify');
    const { app, fastifyOptions } = await import('../../src/api/app.js');
    const { apiLogger } = await import('../../src/api/logging.js');
    const { createServices } = await import('../../src/api/services.js');
    const lines: string[] = [];
    const services = await createServices(env.config);
    const logged = Fastify({ ...fastifyOptions(env.config.http), logger: apiLogger({ level: 'trace', stream: { write: (line: string) => void lines.push(line) } }) });
    await logged.register(app, { services });
    await logged.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(logged.server.address() as { port: number }).port}`;
    try {
      await fetch(`${base}/v1/jobs`, { headers: as(aliceKey) });
      await fetch(`${base}/v1/jobs`, { headers: as('wrong-key-abcdef0123456789') });
      // A key in the query string is refused, and its value must not reach the request log line either.
      expect((await fetch(`${base}/v1/jobs?key=${bobKey}&api_key=${aliceKey}`)).status).toBe(401);
      expect((await fetch(`${base}/nowhere?token=${aliceKey}`, { headers: as(aliceKey) })).status).toBe(404);
      await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { ...as(bobKey), 'content-type': 'application/json' }, body: JSON.stringify(request) });
      const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/jobs/01M8EARDPPXFHX04V8JXSJXWXS/events`, ['trainyard.v1', `trainyard.key.${aliceKey}`]);
      await new Promise((resolve) => socket.once('close', resolve));
      expect(lines.length).toBeGreaterThan(5);
      for (const secret of [aliceKey, bobKey, 'wrong-key-abcdef0123456789']) expect(lines.join('\n')).not.toContain(secret);
      expect(lines.join('\n')).toContain('/v1/jobs?key=[redacted]&api_key=[redacted]');
    } finally {
      await logged.close();
      await services.close();
    }
  });
});
