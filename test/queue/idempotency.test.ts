import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { newJobId } from '../../src/queue/ids.js';
import { QueueHarness, stubRequest, until } from '../helpers/queue.js';

let harness: QueueHarness;
afterEach(() => harness.close());

const submitWithKey = (key: string) => harness.queue.submit(stubRequest, { tenant: 'alice', maxQueued: 100, idempotencyKey: key });

describe('TrainingQueue.submit with an Idempotency-Key', () => {
  it('two concurrent submissions with one key make one job: the second waits for the first one\'s record and answers it', async () => {
    harness = await QueueHarness.start('idempotency-race');
    const [a, b] = await Promise.all([submitWithKey('k'), submitWithKey('k')]);
    if (!('record' in a) || !('record' in b)) throw new Error(`not submitted: ${JSON.stringify([a, b])}`);
    expect(a.record.id).toBe(b.record.id);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect((await harness.catalogue.counts('alice')).queued).toBe(1);
  });

  it('a repeat that finds the key claimed but no record yet waits for the record, then answers it', async () => {
    harness = await QueueHarness.start('idempotency-wait');
    // The first submission has claimed the key and not yet recorded its job: the state the wait covers.
    const id = newJobId();
    const fingerprint = createHash('sha256').update(JSON.stringify(stubRequest)).digest('hex');
    await harness.connection.set(harness.keys.idempotency('alice', 'k'), `${id} ${fingerprint}`);
    const gets = vi.spyOn(harness.catalogue, 'get');
    const repeat = submitWithKey('k');
    // It has looked for the record and not found it: now the first submission records it.
    await until(() => gets.mock.calls.some(([asked]) => asked === id));
    expect(await harness.catalogue.create(id, stubRequest, new Date(), 'alice', 100, id)).toMatchObject({ ok: true });
    const result = await repeat;
    expect(result).toMatchObject({ created: false, record: { id, status: 'queued' } });
    expect((await harness.catalogue.counts('alice')).queued).toBe(1);
  });

  it('the same key with a different request is a conflict, and makes no job', async () => {
    harness = await QueueHarness.start('idempotency-conflict');
    expect(await submitWithKey('k')).toMatchObject({ created: true });
    const other = await harness.queue.submit({ ...stubRequest, name: 'other' }, { tenant: 'alice', maxQueued: 100, idempotencyKey: 'k' });
    expect(other).toEqual({ conflict: 'idempotency-key-reused' });
    expect((await harness.catalogue.counts('alice')).queued).toBe(1);
  });
});
