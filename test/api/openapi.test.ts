import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { Redis } from 'ioredis';
import { generateOpenapi } from '../../src/api/openapi-document.js';
import { ingestionWorker, redisConnection } from '../../src/composition.js';
import type { IngestionWorker } from '../../src/queue/ingestion-queue.js';
import { openapiPath } from '../../src/api/openapi.js';
import { loadConfig } from '../../src/config.js';
import { seedNetworkJson } from '../helpers/data.js';
import { datasetEvents, digitsZip, uploadRaw } from '../helpers/datasets.js';
import { saveTestModel } from '../helpers/models.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

interface Operation {
  parameters?: { name: string; in: string; example?: unknown; schema?: { enum?: string[] } }[];
  requestBody?: { content: Record<string, { example?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> } | { $ref: string }>;
}

const committed = readFileSync(openapiPath, 'utf8');
const document = YAML.parse(committed) as {
  paths: Record<string, Record<string, Operation> & { parameters?: Operation['parameters'] }>;
  components: { responses: Record<string, { content: Record<string, { schema: unknown }> }> };
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(document, 'openapi');

let env: ServiceEnv;
let api: Api;
let jobId: string;
const modelId = 'documented-model';
let datasetId: string;
let archive: Buffer;
let connection: Redis;
let ingestion: IngestionWorker;

beforeAll(async () => {
  env = await serviceEnv('openapi', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  api = await Api.start(env.config);
  jobId = (await api.submit({ network: seedNetworkJson, dataset: 'digits' })).body.id;
  await saveTestModel(env.dataDir, modelId, { seed: 4, jobId });
  // A ready dataset, ingested by the real handler in this process, so its description is checked too.
  connection = redisConnection(env.config, () => {});
  ingestion = ingestionWorker(env.config, connection, { workerId: 'openapi', log: { info: () => {}, warn: () => {}, error: () => {} } });
  await ingestion.start();
  archive = await digitsZip(3, 2);
  datasetId = (await uploadRaw(api, archive)).body.id;
  await datasetEvents(api, datasetId);
});
afterAll(async () => {
  await ingestion.close();
  connection.disconnect();
  await api.close();
  await env.cleanup();
});

/** Every documented operation but the WebSocket upgrade; deletions last, so the others find what they need. */
function operations(): { method: string; route: string; op: Operation; pathParameters: Operation['parameters'] }[] {
  const all = Object.entries(document.paths).flatMap(([route, item]) =>
    Object.entries(item)
      .filter(([method]) => ['get', 'post', 'delete'].includes(method))
      .map(([method, op]) => ({ method, route, op: op as Operation, pathParameters: item.parameters ?? [] })),
  );
  return all.filter((o) => !o.route.endsWith('/events')).sort((a, b) => Number(a.method === 'delete') - Number(b.method === 'delete'));
}

function url(route: string, parameters: NonNullable<Operation['parameters']>): string {
  const filled = route.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (name === 'id') return route.startsWith('/v1/jobs') ? jobId : route.startsWith('/v1/datasets') ? datasetId : modelId;
    const parameter = parameters.find((p) => p.name === name);
    return String(parameter?.example ?? parameter?.schema?.enum?.[0]);
  });
  const query = parameters.filter((p) => p.in === 'query' && p.example !== undefined).map((p) => `${p.name}=${encodeURIComponent(String(p.example))}`);
  return query.length ? `${filled}?${query.join('&')}` : filled;
}

/** A JSON pointer into the document to the schema of this response, for ajv to compile with its $refs. */
function schemaFor(method: string, route: string, op: Operation, status: number, contentType: string): string | undefined {
  const escape = (segment: string) => segment.replace(/~/g, '~0').replace(/\//g, '~1');
  let pointer = `/paths/${escape(route)}/${method}/responses/${status}`;
  let response = op.responses[String(status)];
  if (response && '$ref' in response) {
    pointer = response.$ref.slice(1);
    response = document.components.responses[response.$ref.split('/').at(-1)!]!;
  }
  const media = Object.entries(response?.content ?? {}).find(([type]) => contentType.startsWith(type));
  return media?.[1].schema ? `openapi#${pointer}/content/${escape(media[0])}/schema` : undefined;
}

async function replay(method: string, route: string, op: Operation, body: unknown) {
  const parameters = [...(op.parameters ?? [])];
  // An upload route's example is an archive: a small one of PNGs in class folders.
  const upload = op.requestBody?.content['application/zip'] !== undefined;
  const res = await fetch(api.base + url(route, parameters), {
    method: method.toUpperCase(),
    headers: upload ? { 'content-type': 'application/zip' } : body === undefined ? {} : { 'content-type': 'application/json' },
    body: upload ? archive : body === undefined ? undefined : JSON.stringify(body),
  });
  const contentType = res.headers.get('content-type') ?? '';
  const text = await res.text();
  return { status: res.status, contentType, text };
}

describe('openapi.yaml', () => {
  it('is what the routes generate (run npm run openapi after changing a route)', async () => {
    expect(committed === (await generateOpenapi(loadConfig({}))), 'openapi.yaml is stale: run npm run openapi').toBe(true);
  });

  it('is served at GET /openapi.yaml, with this server\'s limits', async () => {
    const res = await fetch(`${api.base}/openapi.yaml`);
    expect(res.headers.get('content-type')).toMatch(/^application\/yaml/);
    const served = YAML.parse(await res.text()) as typeof document;
    expect(Object.keys(served.paths)).toEqual(Object.keys(document.paths));
    const predict = served.paths['/v1/models/{id}/predict']!['post']!.requestBody!.content['application/json'] as unknown as { schema: { properties: { instances: { maxItems: number } } } };
    expect(predict.schema.properties.instances.maxItems).toBe(env.config.predict.maxInstances);
  });

  it('documents every route the API registers, public ones without security and the others with the bearer scheme', () => {
    const security = (op: Operation & { security?: unknown[] }) => op.security;
    for (const route of ['/', '/ui/{file}', '/healthz', '/readyz', '/openapi.yaml']) expect(security(document.paths[route]!['get']!), route).toEqual([]);
    for (const { method, route, op } of operations()) if (route.startsWith('/v1/')) expect(security(op), `${method} ${route}`).toBeUndefined();
    expect((document as unknown as { security: unknown }).security).toEqual([{ apiKey: [] }]);
    const events = document.paths['/v1/jobs/{id}/events']!['get']! as Operation & { description: string };
    expect(Object.keys(events.responses)).toContain('101');
    expect(events.description).toMatch(/4404.*4400.*4401.*4429.*4503/s);
  });

  it('is a valid OpenAPI 3.1 document (checked by a third-party validator)', async () => {
    const result = await new Validator().validate(document as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
  });

  it('describes what every route answers to its documented example request', async () => {
    const checked: string[] = [];
    for (const { method, route, op, pathParameters } of operations()) {
      const example = op.requestBody?.content['application/json']?.example;
      const response = await replay(method, route, { ...op, parameters: [...(pathParameters ?? []), ...(op.parameters ?? [])] }, example);
      const name = `${method.toUpperCase()} ${route}`;
      expect(Object.keys(op.responses), `${name} answered ${response.status}: ${response.text.slice(0, 200)}`).toContain(String(response.status));
      expect(response.status, `${name}: ${response.text.slice(0, 200)}`).toBeLessThan(400);
      const schema = schemaFor(method, route, op, response.status, response.contentType);
      if (schema && response.contentType.includes('json')) {
        const validate = ajv.compile({ $ref: schema });
        expect(validate(JSON.parse(response.text)), `${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }
      checked.push(`${name} ${response.status}`);
    }
    expect(checked.length).toBeGreaterThanOrEqual(11);
  });

  it('describes the problems routes answer to bad requests', async () => {
    for (const { method, route, op, pathParameters } of operations()) {
      const parameters = [...(pathParameters ?? []), ...(op.parameters ?? [])];
      const bad = op.requestBody ? { unexpected: true } : undefined;
      const target = route.includes('{id}') ? route.replace('{id}', 'no-such-thing-0') : route;
      if (!bad && target === route) continue;
      const res = await fetch(api.base + url(target, parameters).replace(/no-such-thing-0/, 'no-such-thing'), {
        method: method.toUpperCase(),
        headers: bad ? { 'content-type': 'application/json' } : {},
        body: bad ? JSON.stringify(bad) : undefined,
      });
      const name = `${method.toUpperCase()} ${route}`;
      expect(res.status, name).toBeGreaterThanOrEqual(400);
      expect(Object.keys(op.responses), `${name} answered ${res.status}`).toContain(String(res.status));
      const schema = schemaFor(method, route, op, res.status, res.headers.get('content-type') ?? '');
      expect(schema, `${name}: no problem+json schema for ${res.status}`).toContain('application~1problem+json');
      const validate = ajv.compile({ $ref: schema });
      const problem = (await res.json()) as { type: string };
      expect(validate(problem), `${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      expect(problem.type).toMatch(/^urn:trainyard:problem:/);
    }
  });
});
