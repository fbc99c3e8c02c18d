import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressRecord } from '../../src/nn/train.js';
import { QueueHarness, stubMetrics } from '../helpers/queue.js';
import { Api, seedNetwork, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * Losses that are not numbers (a run that diverged: NaN, Infinity) have no JSON form and are
 * stored as null. The job's routes must still answer with them, not fail to serialize.
 */
const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

let harness: QueueHarness;
let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  harness = await QueueHarness.start('not-a-number', redisUrl);
  env = await serviceEnv('not-a-number', redisUrl, { REDIS_PREFIX: harness.keys.prefix });
  api = await Api.start(env.config);
});
afterAll(async () => {
  await api.close();
  await harness.close();
  await env.cleanup();
});

describe('a job whose numbers are not numbers', () => {
  it('answers with nulls in its progress and metrics, on the job and in the list', async () => {
    const progress: ProgressRecord = {
      epoch: 1, iteration: 3, totalIterations: 10, timeElapsed: 1, miniBatchLoss: NaN, miniBatchAccuracy: NaN,
      baseLearnRate: 0.01, verbose: true, validationLoss: Infinity, validationAccuracy: NaN,
    };
    await harness.worker('stub', async (ctx) => {
      await ctx.publishProgress(progress);
      return { modelId: ctx.id, metrics: { ...stubMetrics, validationLoss: NaN, validationAccuracy: 0.1, testLoss: -Infinity, testAccuracy: NaN } };
    });
    const { status, body } = await api.submit({ network: seedNetwork, dataset: 'digits', options: { maxEpochs: 1 } });
    expect(status).toBe(202);
    const job = await api.waitFor(body.id, (j) => j.status === 'completed', 20_000);
    expect(job.progress).toMatchObject({ iteration: 3, miniBatchLoss: null, miniBatchAccuracy: null, validationLoss: null, validationAccuracy: null });
    expect(job.metrics).toEqual({ ...stubMetrics, validationLoss: null, validationAccuracy: 0.1, testLoss: null, testAccuracy: null });
    const list = await api.json<{ jobs: { id: string; metrics: unknown }[] }>('GET', '/v1/jobs');
    expect(list.status).toBe(200);
    expect(list.body.jobs.find((j) => j.id === body.id)?.metrics).toEqual(job.metrics);
  });
});
