import { afterEach, describe, expect, it } from 'vitest';
import { QueueHarness } from '../helpers/queue.js';

let harness: QueueHarness;
afterEach(() => harness.close());

const take = (h: QueueHarness, id: string, runningLimit = 0) => h.catalogue.transition(id, ['queued', 'running'], 'running', { workerId: 'w' }, { fence: 'take', runningLimit });

describe('JobCatalogue transitions', () => {
  it('missing: a job that was never recorded is reported as such and nothing is created', async () => {
    harness = await QueueHarness.start('catalogue-missing');
    const id = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    expect(await take(harness, id)).toEqual({ ok: false, current: null });
    expect(await harness.catalogue.record(id, 1, { backend: 'wasm' })).toBe(false);
    expect(await harness.catalogue.get(id)).toBeNull();
    expect(await harness.events.range(id)).toEqual([]);
  });

  it('refused: a move from a status not allowed changes nothing, event included', async () => {
    harness = await QueueHarness.start('catalogue-refused');
    const id = await harness.submitted();
    expect(await harness.queue.cancel(id)).toMatchObject({ outcome: 'cancelled' });
    expect(await take(harness, id)).toEqual({ ok: false, current: 'cancelled' });
    expect(await harness.catalogue.transition(id, ['running'], 'completed', {}, { event: { type: 'completed', modelId: id, metrics: { miniBatchLoss: 1, miniBatchAccuracy: 0 } } })).toEqual({
      ok: false,
      current: 'cancelled',
    });
    expect(await harness.catalogue.get(id)).toMatchObject({ status: 'cancelled', attempts: 0, workerId: null });
    expect(await harness.eventTypes(id)).toEqual(['status:queued', 'cancelled']);
  });

  it("limited: a tenant at its running limit cannot start another; another tenant's job can, and a job already running is taken again", async () => {
    harness = await QueueHarness.start('catalogue-limited');
    const [first, second] = [await harness.submitted('alice'), await harness.submitted('alice')];
    const other = await harness.submitted('bob');
    expect(await take(harness, first, 1)).toEqual({ ok: true, from: 'queued', attempt: 1 });
    expect(await take(harness, second, 1)).toEqual({ ok: false, current: 'queued', limited: true });
    expect(await harness.catalogue.get(second)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await take(harness, other, 1)).toMatchObject({ ok: true, attempt: 1 });
    // a stalled job delivered again is not a new running job: the limit does not hold it back
    expect(await take(harness, first, 1)).toEqual({ ok: true, from: 'running', attempt: 2 });
    expect(await harness.catalogue.counts('alice')).toMatchObject({ queued: 1, running: 1 });
  });

  it('fenced: once a second attempt has taken a job, every write of the first is refused; the second writes', async () => {
    harness = await QueueHarness.start('catalogue-fenced');
    const id = await harness.submitted();
    const first = await take(harness, id);
    const second = await take(harness, id);
    expect([first, second]).toMatchObject([{ ok: true, attempt: 1 }, { ok: true, attempt: 2 }]);
    expect(await harness.catalogue.holds(id, 1)).toBe(false);
    expect(await harness.catalogue.holds(id, 2)).toBe(true);
    expect(await harness.catalogue.record(id, 1, { backend: 'stale' }, { type: 'status', status: 'running' })).toBe(false);
    const done = { type: 'completed' as const, modelId: id, metrics: { miniBatchLoss: 1, miniBatchAccuracy: 0 } };
    expect(await harness.catalogue.transition(id, ['running'], 'completed', { modelId: 'stale' }, { fence: 1, event: done })).toEqual({ ok: false, current: 'running', fenced: true });
    expect(await harness.catalogue.transition(id, ['running'], 'queued', {}, { fence: 1 })).toMatchObject({ ok: false, fenced: true });
    expect(await harness.catalogue.record(id, 2, { backend: 'wasm' })).toBe(true);
    expect(await harness.catalogue.transition(id, ['running'], 'completed', { modelId: id }, { fence: 2, event: done })).toEqual({ ok: true, from: 'running', attempt: 2 });
    expect(await harness.catalogue.holds(id, 2)).toBe(false);
    expect(await harness.catalogue.get(id)).toMatchObject({ status: 'completed', attempts: 2, backend: 'wasm', modelId: id });
    expect(await harness.eventTypes(id)).toEqual(['status:queued', 'completed']);
  });
});
