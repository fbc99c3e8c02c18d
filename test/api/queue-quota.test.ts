import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, seedNetwork, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/** The API against the machine's Redis (a key prefix of its own), with no worker: jobs stay queued. */
let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  env = await serviceEnv('queue-quota', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', {
    API_KEYS: 'alice:alice-key-0123456789abcdef',
    TENANT_MAX_QUEUED_JOBS: '5',
    RATE_LIMIT_PER_MINUTE: '100000',
  });
  api = await Api.start(env.config);
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

describe('the queued-jobs quota under concurrent submissions', () => {
  it('30 concurrent POSTs with TENANT_MAX_QUEUED_JOBS 5: exactly 5 accepted, 25 refused with a 429 problem', async () => {
    const body = { network: seedNetwork, dataset: 'digits', options: { maxEpochs: 1 } };
    const responses = await Promise.all(Array.from({ length: 30 }, () => api.submit(body, { authorization: 'Bearer alice-key-0123456789abcdef' })));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array<number>(5).fill(202), ...Array<number>(25).fill(429)]);
    for (const refused of responses.filter((r) => r.status === 429)) {
      expect(refused.headers.get('content-type')).toContain('application/problem+json');
      expect(refused.body).toMatchObject({ status: 429, type: 'urn:trainyard:problem:too-many-queued-jobs', detail: expect.stringContaining('TENANT_MAX_QUEUED_JOBS') });
    }
    const listed = await api.json<{ jobs: { status: string }[] }>('GET', '/v1/jobs?limit=100', undefined, { authorization: 'Bearer alice-key-0123456789abcdef' });
    expect(listed.body.jobs.map((j) => j.status)).toEqual(Array(5).fill('queued'));
  });
});
