import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/queue/jobs.js';
import { memoryCeilingFor } from '../../src/nn/backend.js';
import { estimateTrainingMemory, trainingMemoryLimit } from '../../src/nn/memory.js';
import { network, options as trainingOptions } from '../helpers/data.js';
import { heaviestJobBody, heavyLayerCheck, largestPng, largestPredict } from '../helpers/heavy-requests.js';
import { saveTestModel } from '../helpers/models.js';
import { seedNetwork, WorkerProcess } from '../helpers/service.js';
import { Stack } from '../helpers/stack.js';

/**
 * After the heaviest requests the API accepts and the heaviest jobs a worker takes (the largest
 * network the memory estimate lets through, cut at the time limit, and one that overflows the
 * wasm heap), the next predict gives the same probabilities as before them and the next job
 * trains to a sane accuracy: right answers, not only right statuses.
 */
let stack: Stack;
const modelId = 'before-heavy';
type Predicted = { predictions: { label: string; probabilities: Record<string, number> }[] };

beforeAll(async () => {
  // 20 s of training at most: the heaviest accepted network is cut there rather than trained for an hour.
  stack = await Stack.start('after-heavy', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { MAX_TRAINING_SECONDS: '20', RATE_LIMIT_PER_MINUTE: '100000' });
  await saveTestModel(stack.env.dataDir, modelId, { trainImages: 640, maxEpochs: 2, seed: 3 });
});
afterAll(() => stack.stop());

const finished = (j: JobRecord) => j.status !== 'queued' && j.status !== 'running';

describe('after the heaviest requests and jobs', () => {
  it('predicts the same probabilities on a saved model, and trains the next digits job to over 0.8 test accuracy', { timeout: 600_000 }, async () => {
    const { api } = stack;
    const { json, pngs } = await largestPredict(stack.env.config);
    const sample = JSON.stringify({ instances: (JSON.parse(json) as { instances: number[][] }).instances.slice(0, 32) });
    const predict = async (body: string | Buffer, type = 'application/json') => {
      const res = await fetch(`${api.base}/v1/models/${modelId}/predict`, { method: 'POST', headers: { 'content-type': type }, body });
      return { status: res.status, body: (await res.json()) as Predicted };
    };
    const before = await predict(sample);
    expect(before.status).toBe(200);

    // The heaviest requests: the largest JSON predict, MAX_PREDICT_INSTANCES PNG predicts at once, a PNG of MAX_IMAGE_PIXELS, a layer check to its budget, a job body of 1 MiB.
    expect((await predict(json)).status).toBe(200);
    expect((await Promise.all(pngs.map((png) => predict(png, 'image/png')))).map((r) => r.status)).toEqual(pngs.map(() => 200));
    expect((await predict(largestPng(stack.env.config), 'image/png')).status).toBe(200);
    expect((await api.json('POST', '/v1/layers/check', heavyLayerCheck)).status).toBe(200);
    const big = await fetch(`${api.base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: heaviestJobBody(stack.env.config) });
    expect(big.status).toBe(202);
    const bigId = ((await big.json()) as { id: string }).id;
    expect((await api.json('DELETE', `/v1/jobs/${bigId}`)).status).toBeLessThan(300);
    await api.waitFor(bigId, finished);

    // The heaviest job the memory estimate accepts (784 -> n -> 10, adam, n as wide as the estimate lets through), cut at the 20 s time limit.
    const options = { solver: 'adam', maxEpochs: 30, miniBatchSize: 128, seed: 1 };
    const widestNetwork = (n: number) => ({ layers: [{ type: 'imageInput', inputSize: [28, 28, 1] }, { type: 'fullyConnected', outputSize: n }, { type: 'relu' }, { type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' }] });
    const cap = trainingMemoryLimit(stack.env.config.limits.trainingMemoryBytes, memoryCeilingFor(stack.env.config.backend));
    let n = 1000;
    while (estimateTrainingMemory(network(widestNetwork(n + 1000)), trainingOptions(options)).bytes <= cap) n += 1000;
    const widest = await api.submit({ name: 'widest', network: widestNetwork(n), dataset: { id: 'digits', trainImages: 5000 }, options });
    expect(widest.status).toBe(202);
    const cut = await api.waitFor(widest.body.id, finished, 300_000);
    expect(cut.status).toBe('failed');
    expect(cut.error, `784 -> ${n} -> 10`).toMatchObject({ title: 'Training time limit reached' });

    // A job past the estimate, straight onto the queue, that overflows the wasm heap: the worker fails it and exits to be replaced.
    const overflowing = {
      name: 'overflows',
      network: { layers: [seedNetwork.layers[0], { type: 'convolution2d', filterSize: [3, 3], numFilters: 2048, padding: 'same' }, ...seedNetwork.layers.slice(-3)] },
      dataset: { id: 'digits', trainImages: 700 },
      options: { maxEpochs: 1, miniBatchSize: 700, seed: 1 },
    };
    const submitted = await api.services.queue.submit(overflowing as never, { tenant: 'local', maxQueued: 10 });
    if (!('record' in submitted)) throw new Error('not queued');
    const failed = await api.waitFor(submitted.record.id, finished, 300_000);
    expect(failed.error).toMatchObject({ title: 'Out of memory' });
    expect(await stack.workers[0]!.exited).toBe(75);
    stack.workers.push(await WorkerProcess.start(stack.env.env));

    // The next predict: the same probabilities as before all that.
    const after = await predict(sample);
    expect(after.status).toBe(200);
    after.body.predictions.forEach((p, i) => {
      expect(p.label).toBe(before.body.predictions[i]!.label);
      for (const [label, probability] of Object.entries(p.probabilities)) expect(probability).toBeCloseTo(before.body.predictions[i]!.probabilities[label]!, 6);
    });

    // The next job: trains right on the fresh worker.
    const next = await api.submit({ name: 'next', network: seedNetwork, dataset: { id: 'digits', trainImages: 3000 }, options: { maxEpochs: 2, miniBatchSize: 64, seed: 1 } });
    expect(next.status).toBe(202);
    const done = await api.waitFor(next.body.id, finished, 300_000);
    expect(done.status).toBe('completed');
    console.log(`after the heaviest requests and jobs (the widest accepted network 784 -> ${n} -> 10): the next job's test accuracy ${done.metrics?.testAccuracy}; ${after.body.predictions.length} predictions unchanged`);
    expect(done.metrics?.testAccuracy).toBeGreaterThan(0.8);
  });
});
