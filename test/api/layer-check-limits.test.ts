import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { CheckReport } from '../../src/nn/custom/check.js';
import { digits } from '../helpers/data.js';
import { heavyLayerCheck } from '../helpers/heavy-requests.js';
import { describeLoopDelay, expectLoopFree, loopDelayAgainstIdle } from '../helpers/loop-delay.js';
import { saveTestModel } from '../helpers/models.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * Heavy layer checks through the running API: they run in a thread of their own, bounded in work
 * and time, so the API's event loop stays free meanwhile, and a check cut short says so.
 */
let env: ServiceEnv;
beforeAll(async () => {
  env = await serviceEnv('layer-check-limits', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { BODY_LIMIT_BYTES: '3000000' });
});
afterAll(async () => {
  await env.cleanup();
});

const heavy = heavyLayerCheck;

type Answer = { report: CheckReport; title?: string; detail?: string };

async function withApi(layerCheck: Partial<ServiceEnv['config']['layerCheck']>, body: (api: Api) => Promise<void>): Promise<void> {
  const api = await Api.start({ ...env.config, layerCheck: { ...env.config.layerCheck, ...layerCheck } });
  try {
    await body(api);
  } finally {
    await api.close();
  }
}

describe('POST /v1/layers/check with a heavy layer', () => {
  it('answers at once with the default budget: the checks it pays for, and "too expensive to check fully"', async () => {
    await withApi({}, async (api) => {
      const res = await api.json<Answer>('POST', '/v1/layers/check', heavy);
      expect(res.status).toBe(200);
      const last = res.body.report.checks.at(-1)!;
      expect(last).toMatchObject({ name: 'checkedFully', status: 'fail' });
      expect(last.message).toContain('too expensive to check fully');
      expect(last.message).toContain('LAYER_CHECK_MAX_OPERATIONS');
      expect(res.body.report.summary.ok).toBe(false);

      // The input that overflowed the API's wasm heap before: [512, 512, 16] through a long product. Nothing it cannot pay for runs.
      const product = { type: 'custom', name: 'product', learnables: { a: {} }, forward: Array.from({ length: 40 }, (_, i) => `(x + a * ${i})`).join('*') };
      const big = await api.json<Answer>('POST', '/v1/layers/check', { layer: product, inputSize: [512, 512, 16], observations: 1 });
      expect(big.status).toBe(200);
      expect(big.body.report.checks.map((c) => c.status)).toEqual(['pass', ...Array(8).fill('skip'), 'fail']);
      expect(big.body.report.checks.at(-1)!.message).toContain('too expensive to check fully');
    });
  });

  it('keeps the event loop free (max delay under 200 ms, /healthz answers) while a check runs to its time limit', async () => {
    await withApi({ maxOperations: 1e15, timeoutMs: 6000 }, async (api) => {
      const measured = await loopDelayAgainstIdle(api, () => api.json<Answer>('POST', '/v1/layers/check', heavy), 6000);
      const res = measured.result;
      console.log(describeLoopDelay('layer check cut at its 6 s time limit', measured));
      expect(res.status).toBe(200);
      expect(res.body.report.checks.at(-1)!.message).toContain('ran past its time limit of 6 s (LAYER_CHECK_TIMEOUT_MS)');
      expect(measured.busy.health).toBeGreaterThanOrEqual(10);
      expectLoopFree('layer check', measured);
    });
  });

  it('answers 429 when a check is running and the queue (LAYER_CHECK_QUEUE) is full, and takes checks again after', async () => {
    await withApi({ maxOperations: 1e15, timeoutMs: 5000, queue: 0 }, async (api) => {
      const first = api.json<Answer>('POST', '/v1/layers/check', heavy);
      const second = await api.json<Answer>('POST', '/v1/layers/check', heavy);
      expect(second.status).toBe(429);
      expect(second.headers.get('content-type')).toContain('application/problem+json');
      expect(second.body.detail).toContain('LAYER_CHECK_QUEUE');
      expect((await first).status).toBe(200);
      const third = await api.json<Answer>('POST', '/v1/layers/check', { ...heavy, inputSize: [4, 4, 4] });
      // Taken, not refused; whether it finishes within 5 s depends on the machine's load, so only the answer is asserted.
      expect(third.status).toBe(200);
      expect(third.body.report.layer).toBe('heavy');
    });
  });
});

describe('POST /v1/layers/check that exhausts its thread\'s memory', () => {
  const elu = JSON.parse(readFileSync(new URL('../../examples/custom-elu-layer.json', import.meta.url), 'utf8')) as unknown;

  it('answers 422 with a sentence; the thread is gone, and the next predict and check are right', async () => {
    // A 64 MiB heap holds tfjs, not the comparison of a 1M-entry gradient with autodiff.
    await withApi({ heapMb: 64 }, async (api) => {
      const id = 'after-oom';
      await saveTestModel(env.dataDir, id, { trainImages: 640, maxEpochs: 2, seed: 3 });
      const res = await api.json<Answer>('POST', '/v1/layers/check', { layer: elu, inputSize: [256, 256, 16], observations: 1 });
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.detail).toMatch(/^the check of myElu ran out of memory \(.*\); check a smaller inputSize or fewer observations$/);

      const { test } = await digits(10, 100);
      const instances = Array.from({ length: 100 }, (_, i) => Array.from(test.images.subarray(i * 784, (i + 1) * 784)));
      const predicted = await api.json<{ predictions: { label: string }[] }>('POST', `/v1/models/${id}/predict`, { instances });
      expect(predicted.status).toBe(200);
      expect(predicted.body.predictions.filter((p, i) => p.label === String(test.labels[i])).length / 100).toBeGreaterThan(0.6);

      const again = await api.json<Answer>('POST', '/v1/layers/check', { layer: elu, inputSize: [24, 24, 20] });
      expect(again.status).toBe(200);
      expect(again.body.report.summary.ok).toBe(true);
    });
  });
});
