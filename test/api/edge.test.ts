import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, seedNetwork, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * The API's edge, attacked as a client would: encoded and mixed-case paths, over-long ids, slow
 * bodies, odd content types and proxy headers. Keys are on; the request limit is low so it shows.
 */
const aliceKey = 'alice-key-0123456789abcdef';
const as = { authorization: `Bearer ${aliceKey}` };
const rateLimit = 30;
const request = { network: seedNetwork, dataset: 'digits', options: { maxEpochs: 1 } };

let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  env = await serviceEnv('edge', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', {
    API_KEYS: `alice:${aliceKey}`,
    RATE_LIMIT_PER_MINUTE: String(rateLimit),
    HTTP_REQUEST_TIMEOUT_MS: '1500',
    HTTP_HEADERS_TIMEOUT_MS: '1500',
  });
  api = await Api.start(env.config);
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

function expectProblem(res: { status: number; body: unknown; headers: Headers }, status: number) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('content-security-policy')).toBeTruthy();
  expect(res.body).toMatchObject({ status, type: expect.stringMatching(/^urn:trainyard:problem:/), title: expect.any(String), detail: expect.any(String) });
}

async function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const res = await fetch(api.base + path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? (JSON.parse(text) as unknown) : null };
}

describe('every error is a problem document', () => {
  it('answers an id longer than the router allows with a 414 problem that does not repeat the URL', async () => {
    const id = 'A'.repeat(500);
    const res = await raw('GET', `/v1/jobs/${id}`, as);
    expectProblem(res, 414);
    expect(res.text).not.toContain('AAAAAAAAAA');
  });

  it('answers an unknown route 404 and names the types a route takes on 415', async () => {
    expectProblem(await raw('GET', '/nowhere?key=secret-value', as), 404);
    const unsupported = await raw('POST', '/v1/jobs', { ...as, 'content-type': 'text/plain' }, 'train please');
    expectProblem(unsupported, 415);
    expect((unsupported.body as { detail: string }).detail).toBe('this route takes application/json; got text/plain');
  });

  it('tells a malformed JSON body from a refused key, on the API-wide parser and on predict', async () => {
    const json = { ...as, 'content-type': 'application/json' };
    const malformed = await raw('POST', '/v1/jobs', json, '{"network": ');
    expectProblem(malformed, 400);
    expect(malformed.body).toMatchObject({ type: 'urn:trainyard:problem:invalid-json', detail: expect.stringMatching(/^the body is not valid JSON: /) });
    const poisoned = await raw('POST', '/v1/jobs', json, JSON.stringify({ ...request, options: JSON.parse('{"__proto__": {"maxEpochs": 1}}') }));
    expectProblem(poisoned, 400);
    expect(poisoned.body).toMatchObject({ type: 'urn:trainyard:problem:invalid-json', detail: expect.stringContaining('a key named "__proto__"') });
    // Predict parses JSON in a scope of its own (its own body limit): the same answers there.
    const predictPath = '/v1/models/01M8EARDPPXFHX04V8JXSJXWXS/predict';
    const constructorKey = await raw('POST', predictPath, json, '{"instances": [], "constructor": {"prototype": {}}}');
    expectProblem(constructorKey, 400);
    expect((constructorKey.body as { detail: string }).detail).toContain('"constructor" key holding "prototype"');
    expectProblem(await raw('POST', predictPath, json, '{"instances": [1,]}'), 400);
    const empty = await raw('POST', '/v1/jobs', json, '');
    expectProblem(empty, 400);
    expect((empty.body as { detail: string }).detail).toBe('the body is empty; this route takes a JSON document');
  });

  it('cuts a request whose body never finishes with a 408 problem (HTTP_REQUEST_TIMEOUT_MS)', async () => {
    const { port } = new URL(api.base);
    const socket = net.connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(`POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${aliceKey}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"netw`);
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toContain('content-type: application/problem+json');
    expect(received).toContain('urn:trainyard:problem:request-timeout');
  });
});

describe('problem paths and links', () => {
  it('reports body fields from the body root, with no "body." prefix', async () => {
    const res = await raw('POST', '/v1/jobs', { ...as, 'content-type': 'application/json' }, JSON.stringify({ ...request, network: [1, 2] }));
    expectProblem(res, 400);
    const paths = (res.body as { errors: { path: string }[] }).errors.map((e) => e.path);
    expect(paths).toContain('network');
    expect(paths.some((p) => p.startsWith('body'))).toBe(false);
  });

  it('links a cancelled job to no model, and prefixes links and Location with a valid X-Forwarded-Prefix only', async () => {
    const submitted = await api.submit(request, { ...as, 'x-forwarded-prefix': '/trainyard/' });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id;
    expect(submitted.headers.get('location')).toBe(`/trainyard/v1/jobs/${id}`);
    expect(submitted.body.links).toEqual({ self: `/trainyard/v1/jobs/${id}`, events: `/trainyard/v1/jobs/${id}/events` });
    const cancelled = await api.json<{ status: string; links: Record<string, string> }>('DELETE', `/v1/jobs/${id}`, undefined, as);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.links).toEqual({ self: `/v1/jobs/${id}`, events: `/v1/jobs/${id}/events` });
    for (const hostile of ['//evil.example', 'https://evil.example', '/a/../b', '/a b', '/x?y']) {
      const read = await api.json<{ links: Record<string, string> }>('GET', `/v1/jobs/${id}`, undefined, { ...as, 'x-forwarded-prefix': hostile });
      expect(read.body.links.self, hostile).toBe(`/v1/jobs/${id}`);
    }
  });
});

// Last: it spends the address's request budget.
describe('routes are authenticated by the route matched, not the URL as written', () => {
  const disguised: [string, string][] = [
    ['GET', '/%761/jobs'],
    ['GET', '/%76%31/jobs'],
    ['GET', '/V1/jobs'],
    ['GET', '/v1/JOBS'],
    ['GET', '/%761/jobs/01M8EARDPPXFHX04V8JXSJXWXS'],
    ['GET', '/%761/models'],
    ['POST', '/%761/layers/check'],
    ['POST', '/%76%31/layers/check'],
    ['POST', '/%761/jobs'],
    ['GET', '/v1/%6aobs'],
  ];

  it('answers 401 or 404 problems without a key, never 200 or 500, and counts every one against the rate limit', async () => {
    const statuses: number[] = [];
    for (let round = 0; statuses.length <= rateLimit; round++) {
      for (const [method, path] of disguised) {
        const body = method === 'POST' ? JSON.stringify(request) : undefined;
        const res = await raw(method, path, body ? { 'content-type': 'application/json' } : {}, body);
        expect([401, 404, 429], `${method} ${path}`).toContain(res.status);
        expectProblem(res, res.status);
        statuses.push(res.status);
      }
    }
    // Refusals of their own until this address's RATE_LIMIT_PER_MINUTE is spent, then only 429s.
    const firstLimited = statuses.indexOf(429);
    expect(firstLimited).toBeGreaterThan(0);
    expect(firstLimited).toBeLessThanOrEqual(rateLimit);
    expect(statuses.slice(0, firstLimited)).toContain(401);
    expect(statuses.slice(firstLimited).every((s) => s === 429)).toBe(true);
    // Public routes are not counted.
    expect((await raw('GET', '/healthz')).status).toBe(200);
  });
});
