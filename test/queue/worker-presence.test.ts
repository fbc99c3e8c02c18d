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
    const presence = new WorkerPresence(redis, new Keys(`${prefix}-a`), 60_000);
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
    const presence = new WorkerPresence(redis, keys, 150);
    await presence.announce(worker('gone'));
    expect(await presence.live()).toHaveLength(1);
    await expired(keys.worker('gone'));
    expect(await presence.live()).toEqual([]);
    expect(await redis.smembers(keys.workers)).toEqual([]);
  });

  it('keeps a beating worker listed past its time to live, with the state it has now, and removes it on stop', async () => {
    const keys = new Keys(`${prefix}-c`);
    const presence = new WorkerPresence(redis, keys, 300);
    let state: WorkerAnnouncement['state'] = 'warming-up';
    const beats = await heartbeat(presence, () => worker('w', state), 50, (err) => expect.fail(err.message));
    expect((await presence.live()).map((w) => w.state)).toEqual(['warming-up']);
    state = 'ready';
    await beats.beat();
    // Several times the time to live: only the heartbeat keeps it there.
    const until = Date.now() + 1000;
    while (Date.now() < until) {
      expect((await presence.live()).map((w) => w.state)).toEqual(['ready']);
      await new Promise((r) => setTimeout(r, 100));
    }
    await beats.stop();
    expect(await presence.live()).toEqual([]);
  });
});
