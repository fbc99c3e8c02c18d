import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digits } from '../helpers/data.js';
import { PrivateRedis } from '../helpers/redis.js';
import { Stack } from '../helpers/stack.js';

/** A network holding a custom layer, through the whole service: checked, trained, saved, served. */
const network = JSON.parse(readFileSync(new URL('../../examples/seed-custom-elu.json', import.meta.url), 'utf8')) as { layers: Record<string, unknown>[] };
const customIndex = network.layers.findIndex((l) => l['type'] === 'custom');

let redis: PrivateRedis;
let stack: Stack;
beforeAll(async () => {
  redis = await PrivateRedis.start();
  stack = await Stack.start('custom', redis.url);
});
afterAll(async () => {
  await stack.stop();
  await redis.destroy();
});

describe('a job with a custom layer', () => {
  it('fails fast, before training, when the layer fails its check; the report is the error', async () => {
    const wrong = structuredClone(network);
    const layer = wrong.layers[customIndex] as { backward: { x: string } };
    layer.backward.x = 'dz * ((x > 0) + (1 + z) * (x <= 0))';
    const { status, body } = await stack.api.submit({ network: wrong, dataset: { id: 'digits', trainImages: 640 }, options: { maxEpochs: 1 } });
    expect(status).toBe(202);
    const done = await stack.api.waitFor(body.id, (j) => j.status === 'failed' || j.status === 'completed');
    expect(done.status).toBe('failed');
    expect(done.progress).toBeNull();
    expect(done.error?.title).toBe('Custom layer check failed');
    const [report] = done.error!.report as { checks: { name: string; status: string }[] }[];
    expect(report!.checks.find((c) => c.name === 'gradientsNumericallyCorrect')?.status).toBe('fail');
  });

  it('trains, saves and serves the model: model.json names trainyard>Custom and predict works over HTTP', async () => {
    const { body } = await stack.api.submit({ network, dataset: { id: 'digits', trainImages: 640 }, options: { maxEpochs: 1, miniBatchSize: 64, seed: 1 } });
    const done = await stack.api.waitFor(body.id, (j) => j.status === 'failed' || j.status === 'completed');
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    const modelJson = await stack.api.json<{ userDefinedMetadata: { customLayers: string[] } }>('GET', `/v1/models/${done.modelId}/files/model.json`);
    expect(modelJson.body.userDefinedMetadata.customLayers).toContain('trainyard>Custom');
    const { test } = await digits(10, 50);
    const instances = Array.from({ length: 50 }, (_, i) => Array.from(test.images.subarray(i * 784, (i + 1) * 784)));
    const predicted = await stack.api.json<{ predictions: { label: string }[] }>('POST', `/v1/models/${done.modelId}/predict`, { instances });
    expect(predicted.status).toBe(200);
    expect(predicted.body.predictions.filter((p, i) => p.label === String(test.labels[i])).length / 50).toBeGreaterThan(0.6);
  });
});
