import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodePng } from '../../src/data/png.js';
import { loadConfig } from '../../src/config.js';
import { expressionLimits, parseExpression } from '../../src/nn/custom/syntax.js';
import { layerTypes, validateNetwork } from '../../src/nn/spec.js';
import { seedNetworkJson } from '../helpers/data.js';
import { builtIns, jobsWithName, layersWithName, networkWith, urlsWithName, withKey } from '../helpers/built-in-names.js';
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
/** The same service with keys configured: authentication is what the path fuzzing tries to get around. */
let keyed: Api;
const key = 'fuzz-key-0123456789abcdef';
const modelId = 'fuzz-model';
const keyedModelId = 'fuzz-keyed-model';
const counts = new FuzzCounts();

beforeAll(async () => {
  env = await serviceEnv('fuzz', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { RATE_LIMIT_PER_MINUTE: '1000000', TENANT_MAX_QUEUED_JOBS: '100000' });
  api = await Api.start(env.config);
  keyed = await Api.start(loadConfig({ ...env.env, API_KEYS: `fuzz:${key}` }));
  await saveTestModel(env.dataDir, modelId, { trainImages: 32, seed: 5 });
  await saveTestModel(env.dataDir, keyedModelId, { trainImages: 32, seed: 5, tenant: 'fuzz' });
});

afterAll(async () => {
  // The README quotes this line.
  console.log(counts.summary());
  await keyed.close();
  await api.close();
  await env.cleanup();
});

/** Sends one request and checks the answer is a problem (4xx) or a success, never a server error; returns the status. */
async function check(kind: string, method: string, url: string, body?: string | Buffer, contentType = 'application/json', { to = api, headers = {} }: { to?: Api; headers?: Record<string, string> } = {}): Promise<number> {
  const res = await fetch(to.base + url, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': contentType }) }, body });
  const text = await res.text();
  counts.request(kind, res.status);
  expect(res.status, `${method} ${url} ${String(body).slice(0, 300)} -> ${text.slice(0, 300)}`).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get('content-type'), `${method} ${url} -> ${res.status} ${text.slice(0, 300)}`).toContain('application/problem+json');
    // A HEAD answer has the problem's headers and no body.
    if (method === 'HEAD') return res.status;
    const problem = JSON.parse(text) as { status: number; title: string; detail: string };
    expect(problem.status).toBe(res.status);
    expect(typeof problem.detail).toBe('string');
    expect(text).not.toMatch(/node_modules|\/work\/|\bat \S+:\d+:\d+/);
  } else if (url === '/v1/jobs' && method === 'POST' && to === api) {
    counts.acceptedJobs.push((JSON.parse(text) as { id: string }).id);
  }
  return res.status;
}

const anyValue = fc.oneof(
  fc.integer({ min: -5, max: 100 }),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 12 }),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer({ min: -2, max: 40 }), { maxLength: 5 }),
  fc.constantFrom('same', 'auto', 'glorot', 'zerocenter', 'Infinity', 'spatial'),
  fc.constantFrom(...builtIns),
);
const paramName = fc.constantFrom('filterSize', 'numFilters', 'stride', 'padding', 'inputSize', 'outputSize', 'poolSize', 'epsilon', 'alpha', 'scale', 'ceiling', 'probability', 'normalization', 'numChannels', 'name', 'classes', 'learnable', 'perChannel', 'dilationFactor', 'x', ...builtIns);
const layer = fc.record({ type: fc.oneof(fc.constantFrom(...layerTypes), fc.string({ maxLength: 10 }), fc.constantFrom(...builtIns)) }).chain((base) =>
  fc.dictionary(paramName, anyValue, { maxKeys: 4 }).map((params) => ({ ...params, ...base })),
);
const networkLike = fc.oneof(
  { weight: 6, arbitrary: fc.record({ layers: fc.array(layer, { maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ layers: fc.array(layer, { maxLength: 4 }) }).map((n) => ({ layers: [{ type: 'imageInput', inputSize: [28, 28, 1] }, ...n.layers, { type: 'softmax' }, { type: 'classification' }] })) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);
const elu = JSON.parse(readFileSync(new URL('../../examples/custom-elu-layer.json', import.meta.url), 'utf8')) as unknown;

/** Opens an event socket, sends one message and says how it closed (sockets of `to`, keyed or not). */
async function socketClose(to: Api, path: string, message: string): Promise<number> {
  const socket = new WebSocket(`${to.base.replace('http', 'ws')}${path}`);
  return new Promise<number>((resolve) => {
    socket.once('open', () => {
      socket.send(message);
      setTimeout(() => socket.close(1000), 30);
    });
    socket.once('close', (c) => resolve(c));
    socket.once('error', () => resolve(-1));
  });
}

const optionName = fc.constantFrom('solver', 'initialLearnRate', 'momentum', 'maxEpochs', 'miniBatchSize', 'shuffle', 'learnRateSchedule', 'gradientThreshold', 'validationData', 'validationPatience', 'seed', 'bogus', ...builtIns);

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
        const code = await socketClose(api, `/v1/jobs/${body.id}/events${query}`, message);
        counts.session(code);
        expect([1000, 1005, 4400]).toContain(code);
      }),
      { numRuns: 200 },
    );
  });

  it('answers percent-encoded and mixed-case paths for every registered route: never 2xx without a key on a non-public route', async () => {
    const { body: job } = await keyed.submit({ network: seedNetworkJson, dataset: 'digits' }, { authorization: `Bearer ${key}` });
    const realParams: Record<string, string[]> = { id: [job.id, keyedModelId], file: ['manifest.json', 'model.json', 'app.js'] };
    const bodies = new Map<string, string>([
      ['POST /v1/jobs', JSON.stringify({ network: seedNetworkJson, dataset: 'digits', options: { maxEpochs: 1 } })],
      ['POST /v1/models/:id/predict', JSON.stringify({ instances: [new Array(784).fill(0.5)] })],
      ['POST /v1/layers/check', JSON.stringify({ layer: elu, inputSize: [4, 4, 2] })],
    ]);
    /** Each character of a segment as it is, percent-encoded (either case of hex) or case-flipped. */
    const disguise = (segment: string) =>
      fc.array(fc.constantFrom('keep', 'encode', 'encode-lower', 'flip'), { minLength: segment.length, maxLength: segment.length }).map((how) =>
        [...segment]
          .map((c, i) => {
            const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
            if (how[i] === 'encode') return `%${hex.toUpperCase()}`;
            if (how[i] === 'encode-lower') return `%${hex}`;
            if (how[i] === 'flip') return c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
            return c;
          })
          .join(''),
      );
    let routes = 0;
    for (const route of keyed.routes) {
      const segments = route.url.split('/').slice(1);
      const segment = (s: string) => (s.startsWith(':') ? fc.oneof(fc.constantFrom(...(realParams[s.slice(1)] ?? ['x'])), fc.string({ maxLength: 12 }).map(encodeURIComponent)) : fc.constant(s)).chain(disguise);
      await fc.assert(
        fc.asyncProperty(fc.tuple(...segments.map(segment)), fc.boolean(), async (parts, withKeyHeader) => {
          const url = `/${parts.join('/')}`;
          const status = await check('route', route.method, url, bodies.get(`${route.method} ${route.url}`), 'application/json', { to: keyed, headers: withKeyHeader ? { authorization: `Bearer ${key}` } : {} });
          if (!withKeyHeader && !route.public) expect(status, `${route.method} ${url} (${route.url}) without a key`).toBeGreaterThanOrEqual(300);
        }),
        { numRuns: 40 },
      );
      routes++;
    }
    expect(routes).toBe(keyed.routes.length);
  });

  it('answers every Object.prototype name in every place a user string becomes a key with a problem, never 5xx', async () => {
    const predictUrl = `/v1/models/${modelId}/predict`;
    const instance = new Array(784).fill(0.5);
    const { body: job } = await api.submit({ network: seedNetworkJson, dataset: 'digits' });
    for (const name of builtIns) {
      for (const [, layer] of layersWithName(name)) {
        await check('built-in name', 'POST', '/v1/layers/check', JSON.stringify({ layer, inputSize: [6, 6, 4] }));
        await check('built-in name', 'POST', '/v1/jobs', JSON.stringify({ network: networkWith(seedNetworkJson, { ...(layer as object), name: 'myElu' }), dataset: 'digits' }));
      }
      for (const [, body] of jobsWithName(name, seedNetworkJson)) await check('built-in name', 'POST', '/v1/jobs', JSON.stringify(body));
      for (const url of [...urlsWithName(name), `/v1/models/${encodeURIComponent(name)}/predict`]) await check('built-in name', url.endsWith('/predict') ? 'POST' : 'GET', url, url.endsWith('/predict') ? JSON.stringify({ instances: [instance] }) : undefined);
      await check('built-in name', 'POST', predictUrl, JSON.stringify(withKey(name, 1, { instances: [instance] })));
      await check('built-in name', 'POST', '/v1/layers/check', JSON.stringify(withKey(name, 1, { layer: elu, inputSize: [4, 4, 2] })));
      // The key itself: looked up among the configured keys.
      expect(await check('built-in name', 'GET', '/v1/jobs', undefined, undefined, { to: keyed, headers: { authorization: `Bearer ${name}` } })).toBe(401);
      for (const message of [{ type: name }, { type: 'auth', key: name }, withKey(name, 'auth', {})]) {
        counts.session(await socketClose(keyed, `/v1/jobs/${job.id}/events`, JSON.stringify(message)));
      }
      counts.session(await socketClose(api, `/v1/jobs/${job.id}/events?since=${encodeURIComponent(name)}`, '{}'));
    }
  });

  it('answers PNGs whose IHDR lies in every other way: length, CRC, depth and colour type, truncation, data of another size', async () => {
    const png = encodePng(new Array(28 * 28).fill(0), 28, 28, 1);
    const chunk = (type: string, data: Buffer) => {
      const b = Buffer.alloc(12 + data.length);
      b.writeUInt32BE(data.length, 0);
      b.write(type, 4, 'latin1');
      data.copy(b, 8);
      b.writeUInt32BE(crc32(b.subarray(4, 8 + data.length)), 8 + data.length);
      return b;
    };
    const ihdr = (width: number, height: number, depth = 8, colour = 6, fixCrc = true) => {
      const b = Buffer.from(png.subarray(0, 33));
      b.writeUInt32BE(width, 16);
      b.writeUInt32BE(height, 20);
      b[24] = depth;
      b[25] = colour;
      if (fixCrc) b.writeUInt32BE(crc32(b.subarray(12, 29)), 29);
      return b;
    };
    const rest = png.subarray(33);
    // 64 MiB of zeros in 64 KiB: a header that says 28x28 over data that inflates to far more.
    const bomb = chunk('IDAT', deflateSync(Buffer.alloc(64 * 2 ** 20), { level: 9 }));
    const lying = fc.oneof(
      fc.tuple(fc.nat(2 ** 31 - 1), fc.nat(2 ** 31 - 1)).map(([w, h]) => Buffer.concat([ihdr(w, h, 8, 6, false), rest])),
      fc.tuple(fc.nat(255), fc.nat(255)).map(([depth, colour]) => Buffer.concat([ihdr(28, 28, depth, colour), rest])),
      // The IHDR's own length field, or the next chunk's, saying anything.
      fc.tuple(fc.constantFrom(8, 33), fc.nat(2 ** 32 - 1)).map(([at, length]) => {
        const b = Buffer.concat([ihdr(28, 28), rest]);
        b.writeUInt32BE(length, at);
        return b;
      }),
      fc.nat(png.length - 1).map((n) => png.subarray(0, n)),
      fc.tuple(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 512 })).map(([w, h]) => Buffer.concat([ihdr(28, 28), encodePng(new Array(w * h).fill(0.3), w, h, 1).subarray(33)])),
      fc.constant(Buffer.concat([ihdr(28, 28), bomb, chunk('IEND', Buffer.alloc(0))])),
      fc.constant(Buffer.concat([ihdr(28, 28), ihdr(28, 28).subarray(8), rest])),
    );
    await fc.assert(
      fc.asyncProperty(lying, async (bytes) => {
        await check('png-ihdr', 'POST', `/v1/models/${modelId}/predict`, bytes, 'image/png');
      }),
      { numRuns: 300 },
    );
  });

  it('answers custom layers near every limit of the expression language: accepted at the limit, a 400 naming it one past', async () => {
    const { maxLength, maxDepth, maxNodes } = expressionLimits;
    const layerWith = (forward: string, learnables = 1) => ({
      type: 'custom',
      name: 'near',
      learnables: Object.fromEntries(Array.from({ length: learnables }, (_, i) => [`a${i}`, { shape: 'scalar' }])),
      forward: `${Array.from({ length: learnables }, (_, i) => `a${i}`).join(' + ')} * (${forward})`,
    });
    const jobWith = (layer: unknown) => ({
      network: { layers: [{ type: 'imageInput', inputSize: [28, 28, 1] }, layer, { type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' }] },
      dataset: { id: 'digits', trainImages: 64 },
      options: { maxEpochs: 1, miniBatchSize: 16 },
    });
    /** Each way to grow an expression toward one limit, by a size k. */
    const growers: [string, RegExp, (k: number) => string][] = [
      ['length', /too long/, (k) => `x * 1.${'0'.repeat(Math.max(0, k))}`],
      ['depth (parentheses)', /too deep/, (k) => `${'('.repeat(k)}x${')'.repeat(k)}`],
      ['depth (calls)', /too deep/, (k) => `${'tanh('.repeat(k)}x${')'.repeat(k)}`],
      ['depth (unary minus)', /too deep/, (k) => `${'-('.repeat(k)}x${')'.repeat(k)}`],
      ['depth (conditionals)', /too deep/, (k) => `${'x > 0 ? ('.repeat(k)}x${') : x'.repeat(k)}`],
      ['nodes', /too large/, (k) => Array.from({ length: k }, () => 'x').join(' + ')],
    ];
    /** The largest k whose whole forward expression the language accepts (the limits are whatever syntax.ts says). */
    const boundaries = new Map<(k: number) => string, number>();
    const boundary = (grow: (k: number) => string) => {
      let k = boundaries.get(grow) ?? 0;
      while (parseExpression(layerWith(grow(k + 1)).forward).ok && k < maxLength) k++;
      boundaries.set(grow, k);
      return k;
    };
    /** `checked`: sent to /v1/layers/check as well as in a job (a check below the limit only costs a thread's time). */
    const cases: { what: string; forward: string; learnables: number; over: RegExp | null; checked: boolean }[] = [];
    for (const [what, message, grow] of growers) {
      const k = boundary(grow);
      expect(parseExpression(layerWith(grow(k + 1)).forward).ok, what).toBe(false);
      for (const size of [k - 1, k, k + 1]) cases.push({ what: `${what} ${size}`, forward: grow(size), learnables: 1, over: size > k ? message : null, checked: size >= k });
    }
    const learnableLimit = (n: number) => validateNetwork({ layers: [{ type: 'imageInput', inputSize: [4, 4, 2] }, layerWith('x', n), { type: 'fullyConnected', outputSize: 2 }, { type: 'softmax' }, { type: 'classification' }] }).ok;
    let most = 1;
    while (learnableLimit(most + 1) && most < 1000) most++;
    for (const n of [most - 1, most, most + 1]) cases.push({ what: `learnables ${n}`, forward: 'x', learnables: n, over: n > most ? /learnables/ : null, checked: n >= most });
    console.log(`expression limits as found: length ${maxLength}, depth ${maxDepth}, nodes ${maxNodes}, learnables ${most}`);

    const send = async (c: (typeof cases)[number]) => {
      const layer = layerWith(c.forward, c.learnables);
      if (c.checked) expect(await check('expression-limit', 'POST', '/v1/layers/check', JSON.stringify({ layer, inputSize: [4, 4, 2], observations: 1 })), c.what).toBe(c.over ? 400 : 200);
      const res = await fetch(`${api.base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(jobWith(layer)) });
      const text = await res.text();
      counts.request('expression-limit', res.status);
      expect(res.status, `${c.what}: ${text.slice(0, 300)}`).toBe(c.over ? 400 : 202);
      if (c.over) expect(text, c.what).toMatch(c.over);
      else counts.acceptedJobs.push((JSON.parse(text) as { id: string }).id);
    };
    for (const c of cases) await send(c);
    // And random sizes around each limit, with other spacing, as jobs (answered on submission, no check thread).
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...growers), fc.integer({ min: -3, max: 3 }), fc.constantFrom(' ', '', '\t', '  '), async ([what, , grow], offset, space) => {
        const k = boundary(grow) + offset;
        const forward = grow(k).replaceAll(' ', space);
        const over = !parseExpression(layerWith(forward).forward).ok;
        const status = await check('expression-limit', 'POST', '/v1/jobs', JSON.stringify(jobWith(layerWith(forward))));
        expect(status, `${what} ${k}, spaces ${JSON.stringify(space)}`).toBe(over ? 400 : 202);
      }),
      { numRuns: 100 },
    );
  }, 300_000);

  it('answers generated graph connections (unknown layers, missing inputs, cycles, prototype names, huge lists) with a 400 naming them, never 5xx, nothing queued', async () => {
    const residual = JSON.parse(readFileSync(new URL('../../examples/residual-digits.json', import.meta.url), 'utf8')) as { layers: { name?: string }[] };
    const names = residual.layers.flatMap((l) => (l.name ? [l.name] : []));
    const maxConnections = 4 * env.config.networkLimits.maxLayers;
    const end = fc.oneof(
      fc.constantFrom(...names),
      fc.tuple(fc.constantFrom(...names), fc.integer({ min: 0, max: 40 })).map(([name, n]) => `${name}/in${n}`),
      fc.constantFrom(...builtIns).chain((b) => fc.constantFrom(b, `${b}/in1`, `add_1/${b}`, `${b}/${b}`)),
      fc.constantFrom('x/in9', 'nope', '', '/', 'add_1/', '/in1', 'add_1/in2/in3', 'add_1/IN2', 'add_1/in02', 'add_1/in2 ', 'ADD_1/in2'),
      fc.string({ maxLength: 12 }),
    );
    const connection = fc.oneof(
      { weight: 8, arbitrary: fc.record({ from: end, to: end }) },
      { weight: 1, arbitrary: fc.record({ from: anyValue, to: anyValue }, { requiredKeys: [] }) },
      { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...builtIns), end, end).map(([key, from, to]) => withKey(key, 1, { from, to })) },
      { weight: 1, arbitrary: anyValue },
    );
    /** Surely wrong, whatever else the list holds: a layer that does not exist, an input it lacks, a prototype name, a cycle, one connection over the limit. */
    const wrong = fc.oneof(
      fc.constantFrom(
        { from: 'nope', to: 'add_1/in2' },
        { from: 'relu_1', to: 'x/in9' },
        { from: 'relu_1', to: 'add_1/in3' },
        { from: 'relu_1', to: 'relu_3/in2' },
        { from: '__proto__', to: 'add_1/in2' },
        { from: 'relu_1', to: '__proto__/in1' },
        { from: 'relu_1', to: 'add_1/__proto__' },
        { from: 'constructor', to: 'add_1/in2' },
        { from: 'relu_3', to: 'conv_2' },
        { from: 'bn_3', to: 'bn_2' },
      ),
      fc.constantFrom(...builtIns).map((b) => ({ from: b, to: `${b}/in1` })),
    );
    const connections = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.array(connection, { maxLength: 8 }), wrong, fc.nat()).map(([list, bad, at]) => list.toSpliced(at % (list.length + 1), 0, bad)) },
      { weight: 1, arbitrary: fc.integer({ min: maxConnections + 1, max: 3 * maxConnections }).map((n) => Array.from({ length: n }, () => ({ from: 'relu_1', to: 'add_1/in2' }))) },
      { weight: 1, arbitrary: fc.oneof(fc.string(), fc.dictionary(fc.constantFrom('from', 'to', ...builtIns), end), fc.integer()) },
    );
    const newest = async () => (await api.json<{ jobs: { id: string }[] }>('GET', '/v1/jobs?limit=1')).body.jobs[0]?.id;
    const before = await newest();
    await fc.assert(
      fc.asyncProperty(connections, async (list) => {
        const network = { ...residual, connections: list };
        for (const [url, body] of [['/v1/jobs', { network, dataset: 'digits', options: { maxEpochs: 1 } }], ['/v1/networks/analyze', { network }]] as const) {
          const sent = JSON.stringify(body);
          const res = await fetch(api.base + url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sent });
          const text = await res.text();
          counts.request('connections', res.status);
          expect(res.status, `${url} ${JSON.stringify(list).slice(0, 300)} -> ${text.slice(0, 300)}`).toBe(400);
          expect(res.headers.get('content-type')).toContain('application/problem+json');
          const problem = JSON.parse(text) as { type: string; errors?: { path: string; message: string }[] };
          // The body parser refuses any "__proto__" key before the network is read.
          if (sent.includes('"__proto__":')) expect(problem.type).toBe('urn:trainyard:problem:invalid-json');
          else {
            expect(problem.errors?.length, text.slice(0, 300)).toBeGreaterThan(0);
            for (const e of problem.errors!) expect(e.path, e.message).toMatch(/^network(\.|$)/);
          }
        }
      }),
      { numRuns: 300 },
    );
    expect(await newest()).toBe(before);
  }, 300_000);

  it('is still up, and every job it accepted is in the catalogue', async () => {
    expect((await api.json('GET', '/healthz')).status).toBe(200);
    for (const id of counts.acceptedJobs) {
      expect((await api.job(id)).id).toBe(id);
      counts.catalogued++;
    }
  });
});
