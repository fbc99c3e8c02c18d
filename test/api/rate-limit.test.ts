import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

const aliceKey = 'alice-key-0123456789abcdef';
const bobKey = 'bob-key-0123456789abcdef';
const as = (key: string) => ({ authorization: `Bearer ${key}` });

/** Two API replicas on one Redis: the request limit is counted in Redis, so it holds across both. */
let env: ServiceEnv;
let replicas: Api[];
beforeAll(async () => {
  env = await serviceEnv('ratelimit', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { API_KEYS: `alice:${aliceKey},bob:${bobKey}`, RATE_LIMIT_PER_MINUTE: '5' });
  replicas = [await Api.start(env.config), await Api.start(env.config)];
});
afterAll(async () => {
  for (const api of replicas) await api.close();
  await env.cleanup();
});

describe('request rate limit', () => {
  it('limits each tenant to RATE_LIMIT_PER_MINUTE across API replicas, with a problem and Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await replicas[i % 2]!.json('GET', '/v1/jobs', undefined, as(aliceKey))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const limited = await replicas[0]!.json<{ type: string; detail: string }>('GET', '/v1/models', undefined, as(aliceKey));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(limited.body.type).toBe('urn:trainyard:problem:rate-limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await replicas[1]!.json('GET', '/v1/jobs', undefined, as(bobKey))).status).toBe(200);
    expect((await replicas[1]!.json('GET', '/healthz')).status).toBe(200);
  });

  it('counts failed authentication per address, so keys cannot be guessed at speed', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await replicas[0]!.json('GET', '/v1/jobs', undefined, as(`guess-${i}-0123456789abcdef`))).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });
});
