import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digits, seedNetworkJson } from '../helpers/data.js';
import { saveTestModel } from '../helpers/models.js';
import { loadTest } from '../helpers/load.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * The capacity the README documents for one API process on a 2-core machine: 100 predict requests
 * a second and 100 job submissions a second, with no error. (bench/load.ts measures how far above
 * that it goes.)
 */
const documentedRate = 100;

let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  env = await serviceEnv('load', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { RATE_LIMIT_PER_MINUTE: '100000', TENANT_MAX_QUEUED_JOBS: '100000' });
  api = await Api.start(env.config);
  await saveTestModel(env.dataDir, 'loaded', { seed: 6 });
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

describe(`load at the documented capacity (${documentedRate} requests/s)`, () => {
  it('answers every predict request', async () => {
    const { test } = await digits(10, 1);
    const body = JSON.stringify({ instances: [Array.from(test.images.subarray(0, 784))] });
    const figures = await loadTest({ url: `${api.base}/v1/models/loaded/predict`, method: 'POST', body, connections: 8, seconds: 3, overallRate: documentedRate });
    console.log(`predict at ${documentedRate}/s: ${JSON.stringify(figures)}`);
    expect(figures.errors).toBe(0);
    expect(figures.non2xx).toBe(0);
    expect(figures.requests).toBeGreaterThanOrEqual(documentedRate * 2);
  });

  it('accepts every job submission, and every accepted job is in the catalogue', async () => {
    const before = (await api.services.catalogue.counts('local')).queued;
    const body = JSON.stringify({ network: seedNetworkJson, dataset: 'digits', options: { maxEpochs: 1 } });
    const figures = await loadTest({ url: `${api.base}/v1/jobs`, method: 'POST', body, connections: 8, seconds: 3, overallRate: documentedRate });
    console.log(`job submission at ${documentedRate}/s: ${JSON.stringify(figures)}`);
    expect(figures.errors).toBe(0);
    expect(figures.non2xx).toBe(0);
    // Every answered submission is recorded; requests still in flight when the load stopped may add a few more.
    const recorded = (await api.services.catalogue.counts('local')).queued - before;
    expect(recorded).toBeGreaterThanOrEqual(figures.requests);
    expect(recorded).toBeLessThanOrEqual(figures.requests + 8);
  });
});
