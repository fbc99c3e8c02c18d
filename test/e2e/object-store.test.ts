import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digits } from '../helpers/data.js';
import { PrivateRedis } from '../helpers/redis.js';
import { LocalS3 } from '../helpers/s3rver.js';
import { seedNetwork } from '../helpers/service.js';
import { Stack } from '../helpers/stack.js';

/**
 * The service with STORE_URL pointing at a real S3 protocol server (s3rver): the API and a worker
 * process share Redis and the bucket, and nothing on disk but the API's read cache.
 */
let redis: PrivateRedis;
let s3: LocalS3;
let stack: Stack;
const prefix = `e2e-${randomUUID()}`;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  s3 = await LocalS3.start();
  stack = await Stack.start('s3', redis.url, s3.env(prefix));
});
afterAll(async () => {
  await stack?.stop();
  await s3?.stop();
  await redis?.destroy();
});

describe('the service on object storage', () => {
  it('trains a model into the bucket, predicts with it through the read cache, trains another from it, and deletes it from the bucket', async () => {
    const { api, env } = stack;
    const submitted = await api.submit({ name: 's3', network: seedNetwork, dataset: { id: 'digits', trainImages: 1280 }, options: { miniBatchSize: 64, maxEpochs: 2, seed: 1 } });
    expect(submitted.status).toBe(202);
    const done = await api.waitFor(submitted.body.id, (j) => ['completed', 'failed'].includes(j.status));
    expect(done).toMatchObject({ status: 'completed', modelId: submitted.body.id, error: null });
    const id = done.modelId!;

    // The worker published it to the bucket; nothing went to DATA_DIR's folders.
    const { store: bucket, client } = s3.store(prefix);
    // (misclassified.png too, when the test split has a misclassified image)
    expect((await bucket.list(`models/${id}`)).filter((name) => name !== 'misclassified.png')).toEqual(['manifest.json', 'model.json', 'weights.bin']);
    expect(await readdir(env.dataDir)).not.toContain('models');

    const { test } = await digits(10, 100);
    const instances = Array.from({ length: 100 }, (_, i) => Array.from(test.images.subarray(i * 784, (i + 1) * 784)));
    const predicted = await api.json<{ predictions: { label: string }[] }>('POST', `/v1/models/${id}/predict`, { instances });
    expect(predicted.status).toBe(200);
    expect(predicted.body.predictions.filter((p, i) => p.label === String(test.labels[i])).length).toBeGreaterThan(70);
    // The API read the model's files through its local cache.
    expect((await readdir(path.join(env.dataDir, '.store-cache'))).length).toBeGreaterThanOrEqual(2);

    const weights = await fetch(`${api.base}/v1/models/${id}/files/weights.bin`);
    expect(weights.status).toBe(200);
    expect((await weights.arrayBuffer()).byteLength).toBe((await bucket.head(`models/${id}/weights.bin`))!.size);

    // A job starting from it reads it from the bucket, through the model store, and records where its weights came from.
    const tuned = await api.submit({ network: seedNetwork, dataset: { id: 'digits', trainImages: 128 }, options: { miniBatchSize: 64, maxEpochs: 1, seed: 2 }, initialModel: id });
    expect(tuned.body.initialModel).toMatchObject({ id, name: 's3', layersFromModel: ['conv_1', 'batchnorm_1', 'elu_1', 'fc_1'] });
    expect(await api.waitFor(tuned.body.id, (j) => ['completed', 'failed'].includes(j.status))).toMatchObject({ status: 'completed' });
    expect((await api.json<{ lineage: unknown }>('GET', `/v1/models/${tuned.body.id}`)).body.lineage).toMatchObject({ initialModel: { id, name: 's3' }, resumedCount: 0 });
    expect((await api.json('DELETE', `/v1/models/${tuned.body.id}`)).status).toBe(204);

    expect((await api.json('DELETE', `/v1/models/${id}`)).status).toBe(204);
    expect(await bucket.list('models')).toEqual([]);
    expect((await api.json('POST', `/v1/models/${id}/predict`, { instances: instances.slice(0, 1) })).status).toBe(404);
    client.destroy();
  });
});
