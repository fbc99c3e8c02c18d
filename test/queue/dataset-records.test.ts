import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetRecords, type DatasetSummary } from '../../src/queue/dataset-records.js';
import { newJobId } from '../../src/queue/ids.js';
import { connect, Keys } from '../../src/queue/redis.js';
import { deletePrefix, uniquePrefix } from '../helpers/redis.js';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const keys = new Keys(uniquePrefix('dataset-records'));
let redis: Redis;
let records: DatasetRecords;

beforeAll(() => {
  redis = connect(url);
  records = new DatasetRecords(redis, keys);
});
afterAll(async () => {
  await deletePrefix(url, keys.prefix);
  redis.disconnect();
});

const quota = { count: 10, bytes: 10_000 };
const summary = (bytes: number) => ({ bytes }) as DatasetSummary;

async function created(tenant: string, uploadBytes = 100): Promise<string> {
  const id = newJobId();
  const result = await records.create({ id, tenant, name: id, createdAt: new Date().toISOString(), uploadBytes, options: {} }, quota);
  expect(result.ok).toBe(true);
  return id;
}

describe('dataset records', () => {
  it('fences a stale attempt: only the latest attempt records progress and the outcome, once', async () => {
    const id = await created('fence');
    const first = await records.take(id);
    const second = await records.take(id);
    expect([first, second]).toEqual([{ ok: true, attempt: 1 }, { ok: true, attempt: 2 }]);
    expect(await records.holds(id, 1)).toBe(false);
    expect(await records.progress(id, 1, { read: 1, total: 2 })).toBe(false);
    expect(await records.ready(id, 1, summary(40))).toBe(false);
    expect(await records.progress(id, 2, { read: 2, total: 2 })).toBe(true);
    expect(await records.ready(id, 2, summary(40))).toBe(true);
    // Finished: neither attempt, nor the queue's give-up, nor a late pick-up changes it.
    expect(await records.fail(id, 2, 'late')).toBe(false);
    expect(await records.fail(id, null, 'abandoned')).toBe(false);
    expect((await records.take(id)).ok).toBe(false);
    expect(await records.get(id)).toMatchObject({ status: 'ready', attempts: 2, progress: { read: 2, total: 2 }, bytes: 40, error: null });
  });

  it("keeps the tenant's bytes in step: the upload while ingesting, the shards once ready, nothing once failed or deleted", async () => {
    const a = await created('bytes', 300);
    const b = await created('bytes', 200);
    expect(await records.usage('bytes')).toEqual({ count: 2, bytes: 500 });
    await records.take(a);
    await records.ready(a, 1, summary(120));
    await records.take(b);
    await records.fail(b, 1, 'the archive holds no image');
    expect(await records.usage('bytes')).toEqual({ count: 2, bytes: 120 });
    expect(await records.remove(a, ['ready', 'failed'])).toEqual({ ok: true });
    expect(await records.remove(b, ['ready', 'failed'])).toEqual({ ok: true });
    expect(await records.usage('bytes')).toEqual({ count: 0, bytes: 0 });
  });

  it('refuses creation past either quota atomically, and deletion while ingesting', async () => {
    const id = await created('quota', 9_000);
    const over = await records.create({ id: newJobId(), tenant: 'quota', name: 'x', createdAt: new Date().toISOString(), uploadBytes: 1_001, options: {} }, quota);
    expect(over).toEqual({ ok: false, limit: 'bytes', held: 9_000 });
    const full = await records.create({ id: newJobId(), tenant: 'quota', name: 'x', createdAt: new Date().toISOString(), uploadBytes: 1, options: {} }, { count: 1, bytes: quota.bytes });
    expect(full).toEqual({ ok: false, limit: 'count', held: 1 });
    expect(await records.remove(id, ['ready', 'failed'])).toEqual({ ok: false, current: 'ingesting' });
    expect(await records.remove(newJobId(), ['ready', 'failed'])).toEqual({ ok: false, current: null });
  });
});
