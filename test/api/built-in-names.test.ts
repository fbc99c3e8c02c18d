import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtIns, jobsWithName, layersWithName, networkWith as networkWithLayer, urlsWithName } from '../helpers/built-in-names.js';
import { Api, seedNetwork, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * Every Object.prototype name (constructor, toString, __proto__, ...) wherever a request's string
 * becomes a key: in a custom layer sent to /v1/layers/check and inside a job's network, as a layer
 * type, an option's value or name, a dataset, a query parameter or an id. Each is a 4xx problem
 * with a sentence: never a 500, never a 202 for a job that then fails.
 */
let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  env = await serviceEnv('built-in-names', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { RATE_LIMIT_PER_MINUTE: '100000' });
  api = await Api.start(env.config);
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

type Problem = { title?: string; detail?: string; errors?: { path: string; message: string }[] };
const text = (body: Problem) => [body.detail, ...(body.errors ?? []).map((e) => e.message)].join(' ');

const networkWith = (layer: unknown) => networkWithLayer(seedNetwork, layer);

describe('Object.prototype names in requests', () => {
  it('POST /v1/layers/check answers 400 naming the word for each name in each position of a custom layer', async () => {
    let requests = 0;
    for (const name of builtIns) {
      for (const [position, layer] of layersWithName(name)) {
        const res = await api.json<Problem>('POST', '/v1/layers/check', { layer, inputSize: [6, 6, 4] });
        expect(res.status, `${name} as ${position}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(text(res.body), `${name} as ${position}`).toContain(name); // a "__proto__" key is refused by the JSON parser, whose detail names it
        requests++;
      }
    }
    console.log(`built-in names: ${requests} layer checks, every one 400`);
  });

  it('POST /v1/jobs answers 400 for each name in each position of a custom layer in the network, and queues nothing', async () => {
    let requests = 0;
    for (const name of builtIns) {
      for (const [position, layer] of layersWithName(name)) {
        const res = await api.json<Problem>('POST', '/v1/jobs', { network: networkWith({ ...(layer as object), name: 'myElu' }), dataset: 'digits', options: { maxEpochs: 1 } });
        expect(res.status, `${name} as ${position}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(text(res.body), `${name} as ${position}`).toContain(name); // a "__proto__" key is refused by the JSON parser, whose detail names it
        requests++;
      }
    }
    const jobs = await api.json<{ jobs: unknown[] }>('GET', '/v1/jobs');
    expect(jobs.body.jobs).toEqual([]);
    console.log(`built-in names: ${requests} jobs with a custom layer, every one 400`);
  });

  it('POST /v1/jobs answers 400 for each name as a layer type, an option value or name, a dataset, a normalization or a network field', async () => {
    let requests = 0;
    for (const name of builtIns) {
      const bodies = jobsWithName(name, seedNetwork);
      for (const [position, body] of bodies) {
        const res = await api.json<Problem>('POST', '/v1/jobs', body);
        expect(res.status, `${name} as ${position}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        requests++;
      }
    }
    console.log(`built-in names: ${requests} jobs with the name elsewhere, every one 400`);
  });

  it('answers 4xx, never 500, for each name as an id, a file name or a query value', async () => {
    let requests = 0;
    for (const name of builtIns) {
      for (const url of urlsWithName(name)) {
        const res = await api.json<Problem>('GET', url);
        expect(res.status, `GET ${url}: ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `GET ${url}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
        requests++;
      }
    }
    console.log(`built-in names: ${requests} ids and query values, every one 4xx`);
  });
});
