import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  env = await serviceEnv('cors', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { CORS_ORIGINS: 'https://ui.example' });
  api = await Api.start(env.config);
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

describe('CORS_ORIGINS', () => {
  it('lets the configured origin call the API from a browser, and no other', async () => {
    const preflight = await fetch(`${api.base}/v1/jobs`, {
      method: 'OPTIONS',
      headers: { origin: 'https://ui.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://ui.example');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const other = await fetch(`${api.base}/v1/jobs`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
