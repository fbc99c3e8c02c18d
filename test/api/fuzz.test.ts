import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodePng } from '../../src/data/png.js';
import { layerTypes } from '../../src/nn/spec.js';
import { seedNetworkJson } from '../helpers/data.js';
import { FuzzCounts } from '../helpers/fuzz-counts.js';
import { saveTestModel } from '../helpers/models.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * Thousands of generated bad requests at the running server: every answer must be a 4xx problem
 * (or a 2xx for the rare valid one), never a 5xx; the server must stay up; every job it accepted
 * must be in the catalogue.
 */
let env: ServiceEnv;
let api: Api;
const modelId = 'fuzz-model';
const counts = new FuzzCounts();

beforeAll(async () => {
  env = await serviceEnv('fuzz', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { RATE_LIMIT_PER_MINUTE: '1000000', TENANT_MAX_QUEUED_JOBS: '100000' });
  api = await Api.start(env.config);
  await saveTestModel(env.dataDir, modelId, { trainImages: 32, seed: 5 });
});

afterAll(async () => {
  // The README quotes this line.
  console.log(counts.summary());
  await api.close();
  await env.cleanup();
});

/** Sends one request and checks the answer is a problem (4xx) or a success, never a server error. */
async function check(kind: string, method: string, url: string, body?: string | Buffer, contentType = 'application/json'): Promise<void> {
  const res = await fetch(api.base + url, { method, headers: body === undefined ? {} : { 'content-type': contentType }, body });
  const text = await res.text();
  counts.request(kind, res.status);
  expect(res.status, `${method} ${url} ${String(body).slice(0, 300)} -> ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = JSON.parse(text) as { status: number; title: string; detail: string };
    expect(problem.status).toBe(res.status);
    expect(typeof problem.detail).toBe('string');
    expect(text).not.toMatch(/node_modules|\/work\/|\bat \S+:\d+:\d+/);
  } else if (url === '/v1/jobs' && method === 'POST') {
    counts.acceptedJobs.push((JSON.parse(text) as { id: string }).id);
  }
}

const anyValue = fc.oneof(
  fc.integer({ min: -5, max: 100 }),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 12 }),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 5 }),
  fc.constantFrom('same', 'auto', 'glorot', 'zerocenter', 'Infinity', 'spatial'),
);
const paramName = fc.constantFrom('filterSize', 'numFilters', 'stride', 'padding', 'inputSize', 'outputSize', 'poolSize', 'epsilon', 'alpha', 'scale', 'ceiling', 'probability', 'normalization', 'numChannels', 'name', 'classes', 'learnable', 'perChannel', 'dilationFactor', 'x');
const layer = fc.record({ type: fc.oneof(fc.constantFrom(...layerTypes), fc.string({ maxLength: 10 })) }).chain((base) =>
  fc.dictionary(paramName, anyValue, { maxKeys: 4 }).map((params) => ({ ...params, ...base })),
);
const networkLike = fc.oneof(
  { weight: 6, arbitrary: fc.record({ layers: fc.array(layer, { maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ layers: fc.array(layer, { maxLength: 4 }) }).map((n) => ({ layers: [{ type: 'imageInput', inputSize: [28, 28, 1] }, ...n.layers, { type: 'softmax' }, { type: 'classification' }] })) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
const optionName = fc.constantFrom('solver', 'initialLearnRate', 'momentum', 'maxEpochs', 'miniBatchSize', 'shuffle', 'learnRateSchedule', 'gradientThreshold', 'validationData', 'validationPatience', 'seed', 'bogus');

describe('fuzzing the running server', () => {
  it('answers generated job requests (networks, options, datasets) with problems or 202, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(networkLike, fc.option(fc.dictionary(optionName, anyValue, { maxKeys: 4 })), fc.oneof(fc.constant('digits'), anyValue, fc.record({ id: anyValue })), async (net, opts, dataset) => {
        await check('job', 'POST', '/v1/jobs', JSON.stringify({ network: net, dataset, ...(opts ? { options: opts } : {}) }));
      }),
      { numRuns: 1500 },
    );
  });

  it('answers generated raw bodies to POST /v1/jobs (truncated JSON, wrong types)', async () => {
    const valid = JSON.stringify({ network: seedNetworkJson, dataset: 'digits' });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 50 }), fc.integer({ min: 0, max: valid.length }).map((n) => valid.slice(0, n)), fc.jsonValue().map((v) => JSON.stringify(v))), async (raw) => {
        await check('raw', 'POST', '/v1/jobs', raw);
      }),
      { numRuns: 500 },
    );
  });

  it('answers generated predict bodies, JSON and PNG', async () => {
    const instance = fc.oneof(
      fc.array(fc.double(), { maxLength: 790 }),
      fc.array(fc.array(anyValue, { maxLength: 30 }), { maxLength: 30 }),
      anyValue,
      fc.constant(new Array(784).fill(0.5)),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.record({ instances: fc.array(instance, { maxLength: 3 }) }), fc.jsonValue({ maxDepth: 2 })), async (body) => {
        await check('predict', 'POST', `/v1/models/${modelId}/predict`, JSON.stringify(body));
      }),
      { numRuns: 700 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        await check('png', 'POST', `/v1/models/${modelId}/predict`, Buffer.from(bytes), 'image/png');
      }),
      { numRuns: 200 },
    );
    // Real PNGs whose header lies about their size (CRC fixed up, so only the size is wrong): any
    // declared size up to 2^31 - 1 a side is answered at once, never decoded (a 400, no 5xx).
    const png = encodePng(new Array(28 * 28).fill(0), 28, 28, 1);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (width, height) => {
        const lying = Buffer.from(png);
        lying.writeUInt32BE(width, 16);
        lying.writeUInt32BE(height, 20);
        lying.writeUInt32BE(crc32(lying.subarray(12, 29)), 29);
        await check('png-header', 'POST', `/v1/models/${modelId}/predict`, lying, 'image/png');
      }),
      { numRuns: 200 },
    );
  });

  it('answers generated path ids and query strings on every route', async () => {
    const segment = fc.string({ maxLength: 40 }).map(encodeURIComponent);
    await fc.assert(
      fc.asyncProperty(segment, segment, fc.constantFrom('GET', 'DELETE'), async (id, file, method) => {
        await check('path', method, `/v1/jobs/${id}`);
        await check('path', 'GET', `/v1/models/${id}`);
        await check('path', 'GET', `/v1/models/${id}/files/${file}`);
        await check('path', 'GET', `/v1/jobs?status=${id}&limit=${file}&cursor=${id}`);
      }),
      { numRuns: 250 },
    );
  });

  it('survives generated WebSocket messages and ids', async () => {
    const { body } = await api.submit({ network: seedNetworkJson, dataset: 'digits' });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue().map((v) => JSON.stringify(v))), fc.option(fc.string({ maxLength: 20 })), async (message, since) => {
        const query = since === null ? '' : `?since=${encodeURIComponent(since)}`;
        const socket = new WebSocket(`${api.base.replace('http', 'ws')}/v1/jobs/${body.id}/events${query}`);
        const code = await new Promise<number>((resolve) => {
          socket.once('open', () => {
            socket.send(message);
            setTimeout(() => socket.close(1000), 30);
          });
          socket.once('close', (c) => resolve(c));
          socket.once('error', () => resolve(-1));
        });
        counts.session(code);
        expect([1000, 1005, 4400]).toContain(code);
      }),
      { numRuns: 200 },
    );
  });

  it('is still up, and every job it accepted is in the catalogue', async () => {
    expect((await api.json('GET', '/healthz')).status).toBe(200);
    for (const id of counts.acceptedJobs) {
      expect((await api.job(id)).id).toBe(id);
      counts.catalogued++;
    }
  });
});
