import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFileName } from '../../src/store/models.js';
import { connect, Keys } from '../../src/queue/redis.js';
import { seedNetworkJson } from '../helpers/data.js';
import { saveTestModel } from '../helpers/models.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * Responses carry the fields their route's schema declares and nothing else: whatever a stored
 * record holds besides (a manifest's storage fields, a field a later version adds to the job
 * hash) stays on the server.
 */
let env: ServiceEnv;
let api: Api;
const modelId = 'schema-model';

beforeAll(async () => {
  env = await serviceEnv('response-schemas', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  api = await Api.start(env.config);
  await saveTestModel(env.dataDir, modelId, { seed: 5 });
  // Written before the API first reads the model: its manifest cache never saw the file without it.
  const file = path.join(env.dataDir, 'models', modelId, manifestFileName);
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, JSON.stringify({ ...manifest, storagePath: '/srv/trainyard/models/schema-model', training: { ...(manifest['training'] as object), workerHost: 'gpu-7.internal' } }));
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

describe('response schemas', () => {
  it("send a model's declared fields only: no storage or internal fields of its manifest", async () => {
    const { status, body } = await api.json<Record<string, unknown> & { training: Record<string, unknown> }>('GET', `/v1/models/${modelId}`);
    expect(status).toBe(200);
    expect(body).not.toHaveProperty('storagePath');
    expect(body).not.toHaveProperty('formatVersion');
    expect(body.training).not.toHaveProperty('workerHost');
    // The declared ones all arrive.
    expect(Object.keys(body).sort()).toEqual(['classes', 'createdAt', 'evaluation', 'files', 'id', 'inputSize', 'inputStatistics', 'links', 'metrics', 'network', 'normalization', 'tenant', 'training']);
    expect(body.training).toMatchObject({ dataset: 'digits', backend: { name: 'wasm', device: 'cpu' } });
  });

  it('send model summaries without them either', async () => {
    const { body } = await api.json<{ models: Record<string, unknown>[] }>('GET', '/v1/models');
    const summary = body.models.find((m) => m['id'] === modelId)!;
    expect(summary).toBeDefined();
    expect(summary).not.toHaveProperty('storagePath');
    expect(summary).not.toHaveProperty('formatVersion');
    expect(summary).not.toHaveProperty('training');
    expect(summary['backend']).toBe('wasm');
  });

  it("send a job's declared fields only, whatever else its catalogue hash holds", async () => {
    const submitted = await api.submit({ network: seedNetworkJson, dataset: 'digits' });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id;
    const redis = connect(env.config.redis.url);
    await redis.hset(new Keys(env.config.redis.prefix).job(id), 'leaseToken', JSON.stringify('worker-secret'));
    await redis.quit();
    for (const url of [`/v1/jobs/${id}`, '/v1/jobs']) {
      const { body } = await api.json('GET', url);
      expect(JSON.stringify(body), url).not.toContain('worker-secret');
    }
    const { body } = await api.json<Record<string, unknown>>('GET', `/v1/jobs/${id}`);
    expect(Object.keys(body).sort()).toEqual(
      ['attempts', 'backend', 'cancelRequested', 'createdAt', 'error', 'finishedAt', 'id', 'initialModel', 'links', 'metrics', 'modelId', 'name', 'pauseRequested', 'progress', 'startedAt', 'status', 'tenant', 'workerId'].sort(),
    );
  });
});
