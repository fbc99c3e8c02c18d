import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keys } from '../../src/queue/redis.js';
import { heartbeat, WorkerPresence, type WorkerAnnouncement } from '../../src/queue/worker-presence.js';
import { deletePrefix, uniquePrefix } from '../helpers/redis.js';

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = uniquePrefix('presence');
let redis: Redis;
beforeAll(() => {
  redis = new Redis(url);
});
afterAll(async () => {
  redis.disconnect();
  await deletePrefix(url, prefix);
});

const worker = (id: string, state: WorkerAnnouncement['state'] = 'ready'): WorkerAnnouncement => ({
  id,
  state,
  backend: { name: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', device: 'gpu', adapter: { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100' } },
  startedAt: '2026-11-28T12:00:00.000Z',
});

/** Resolves once `key` no longer exists (Redis expired it), polling Redis rather than sleeping a fixed time. */
async function expired(key: string): Promise<void> {
  while ((await redis.exists(key)) === 1) await new Promise((r) => setTimeout(r, 20));
}

describe('worker presence', () => {
  it('lists announced workers with their backend and state, and forgets a withdrawn one', async () => {
    const presence = new WorkerPresence(redis, new Keys(`${prefix}-a`), 60_000, 600_000);
    await presence.announce(worker('b', 'warming-up'));
    await presence.announce(worker('a'));
    expect(await presence.live()).toEqual([worker('a'), worker('b', 'warming-up')]);
    await presence.announce(worker('b'));
    expect((await presence.live()).map((w) => w.state)).toEqual(['ready', 'ready']);
    await presence.withdraw('a');
    expect(await presence.live()).toEqual([worker('b')]);
  });

  it('drops a worker that stops renewing (it died) once its announcement expires, and prunes the index', async () => {
    const keys = new Keys(`${prefix}-b`);
    const presence = new WorkerPresence(redis, keys, 60_000, 600_000);
    await presence.announce(worker('gone', 'warming-up'));
    // Warming up, it lives the longer time: compiling kernels may block its heartbeat for minutes.
    expect(await redis.pttl(keys.worker('gone'))).toBeGreaterThan(60_000);
    await presence.announce(worker('gone'));
    const ttl = await redis.pttl(keys.worker('gone'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await presence.live()).toHaveLength(1);
    // As if its time to live ran out with no renewal.
    await redis.pexpire(keys.worker('gone'), 1);
    await expired(keys.worker('gone'));
    expect(await presence.live()).toEqual([]);
    expect(await redis.smembers(keys.workers)).toEqual([]);
  });

  it('renews a beating worker before its time to live runs out, with the state it has now, and removes it on stop', async () => {
    const keys = new Keys(`${prefix}-c`);
    const presence = new WorkerPresence(redis, keys, 60_000, 60_000);
    let state: WorkerAnnouncement['state'] = 'warming-up';
    const beats = await heartbeat(presence, () => worker('w', state), 50, (err) => expect.fail(err.message));
    expect((await presence.live()).map((w) => w.state)).toEqual(['warming-up']);
    state = 'ready';
    await beats.beat();
    expect((await presence.live()).map((w) => w.state)).toEqual(['ready']);
    // Half its life gone: only the heartbeat (every 50 ms) gives it a full life again.
    await redis.pexpire(keys.worker('w'), 30_000);
    while ((await redis.pttl(keys.worker('w'))) <= 30_000) await new Promise((r) => setTimeout(r, 20));
    await beats.stop();
    expect(await presence.live()).toEqual([]);
  });
});
