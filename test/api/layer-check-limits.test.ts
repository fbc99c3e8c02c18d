import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/nn/custom/check.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * Heavy layer checks through the running API: they run in a thread of their own, bounded in work
 * and time, so the API's event loop stays free meanwhile, and a check cut short says so.
 */
let env: ServiceEnv;
beforeAll(async () => {
  env = await serviceEnv('layer-check-limits', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
});
afterAll(async () => {
  await env.cleanup();
});

/** The attack's layer: 16 learnables and a 63-term forward on 256x256x4, 1 observation (377 s on the event loop before). */
const heavy = {
  layer: {
    type: 'custom',
    name: 'heavy',
    learnables: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`a${i}`, {}])),
    forward: Array.from({ length: 63 }, (_, i) => `a${i % 16}*x`).join('+'),
  },
  inputSize: [256, 256, 4],
  observations: 1,
};

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
    });
  });

  it('keeps the event loop free (max delay under 200 ms, /healthz answers) while a check runs to its time limit', async () => {
    await withApi({ maxOperations: 1e15, timeoutMs: 6000 }, async (api) => {
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const checking = api.json<Answer>('POST', '/v1/layers/check', heavy);
      let health = 0;
      let settled = false;
      void checking.finally(() => (settled = true));
      while (!settled) {
        const res = await api.json('GET', '/healthz');
        expect(res.status).toBe(200);
        health++;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      delay.disable();
      const res = await checking;
      const maxMs = delay.max / 1e6;
      console.log(`layer check cut at its time limit: event-loop delay max ${maxMs.toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms; /healthz answered ${health} times meanwhile`);
      expect(res.status).toBe(200);
      expect(res.body.report.checks.at(-1)!.message).toContain('ran past its time limit of 6 s (LAYER_CHECK_TIMEOUT_MS)');
      expect(health).toBeGreaterThanOrEqual(10);
      expect(maxMs).toBeLessThan(200);
    });
  });

  it('answers 429 when a check is running and the queue (LAYER_CHECK_QUEUE) is full, and takes checks again after', async () => {
    await withApi({ maxOperations: 1e15, timeoutMs: 3000, queue: 0 }, async (api) => {
      const first = api.json<Answer>('POST', '/v1/layers/check', heavy);
      const second = await api.json<Answer>('POST', '/v1/layers/check', heavy);
      expect(second.status).toBe(429);
      expect(second.headers.get('content-type')).toContain('application/problem+json');
      expect(second.body.detail).toContain('LAYER_CHECK_QUEUE');
      expect((await first).status).toBe(200);
      const third = await api.json<Answer>('POST', '/v1/layers/check', { ...heavy, inputSize: [4, 4, 4] });
      expect(third.status).toBe(200);
      expect(third.body.report.summary.ok).toBe(true);
    });
  });
});
