import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/queue/jobs.js';
import { PrivateRedis } from '../helpers/redis.js';
import { Stack } from '../helpers/stack.js';

/** A tiny network on 32 images: one iteration, so a thousand jobs go through in a minute or two. */
const tiny = {
  network: {
    layers: [
      { type: 'imageInput', inputSize: [28, 28, 1], normalization: 'none' },
      { type: 'fullyConnected', outputSize: 10 },
      { type: 'softmax' },
      { type: 'classification' },
    ],
  },
  dataset: { id: 'digits', trainImages: 32 },
  options: { maxEpochs: 1, miniBatchSize: 32 },
};

let redis: PrivateRedis;
let stack: Stack;
beforeAll(async () => {
  redis = await PrivateRedis.start();
  stack = await Stack.start(
    'thousand',
    redis.url,
    { TENANT_MAX_QUEUED_JOBS: '5000', TENANT_MAX_MODELS: '5000', RATE_LIMIT_PER_MINUTE: '1000000', LOG_LEVEL: 'warn' },
    2,
  );
});
afterAll(async () => {
  await stack.stop();
  await redis.destroy();
});

describe('a thousand jobs queued at once', () => {
  it('accounts for every one: each completes or is cancelled, none vanishes', async () => {
    const { api } = stack;
    const ids: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => api.submit({ ...tiny, name: `job-${batch * 50 + i}` })));
      for (const a of answers) {
        expect(a.status).toBe(202);
        ids.push(a.body.id);
      }
    }
    expect(new Set(ids).size).toBe(1000);
    // cancel every fourth while the queue is still long: most of those never start
    const cancels = await Promise.all(ids.filter((_, i) => i % 4 === 3).map((id) => api.json('DELETE', `/v1/jobs/${id}`)));
    for (const c of cancels) expect([200, 202, 409]).toContain(c.status);

    const deadline = Date.now() + 330_000;
    let records: JobRecord[] = [];
    for (;;) {
      records = [];
      let cursor: string | null = null;
      do {
        const page: { body: { jobs: JobRecord[]; nextCursor: string | null } } = await api.json('GET', `/v1/jobs?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        records.push(...page.body.jobs);
        cursor = page.body.nextCursor;
      } while (cursor);
      if (records.every((r) => ['completed', 'failed', 'cancelled'].includes(r.status)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    const byStatus: Partial<Record<string, JobRecord[]>> = {};
    for (const r of records) (byStatus[r.status] ??= []).push(r);
    console.log(`1000 jobs: ${Object.entries(byStatus).map(([s, rs]) => `${s} ${rs!.length}`).join(', ')}`);
    expect(records.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect((byStatus['completed']?.length ?? 0) + (byStatus['cancelled']?.length ?? 0) + (byStatus['failed']?.length ?? 0)).toBe(1000);
    expect(byStatus['failed'] ?? []).toEqual([]);
    expect(byStatus['cancelled']?.length).toBeGreaterThanOrEqual(200);
    for (const r of byStatus['completed'] ?? []) expect(r.modelId).toBe(r.id);
  }, 400_000);
});
