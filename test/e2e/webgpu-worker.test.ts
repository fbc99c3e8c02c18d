import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { workerPresence } from '../../src/composition.js';
import { isSoftwareAdapter } from '../../src/nn/backends/webgpu.js';
import type { WorkerAnnouncement } from '../../src/queue/worker-presence.js';
import { Api, serviceEnv, WorkerProcess } from '../helpers/service.js';

/**
 * A worker process on webgpu (lavapipe here, the NVIDIA driver's ICD on a GPU machine): it is
 * listed (GET /v1/admin/workers) as warming up while it compiles its first kernels, and takes jobs
 * once ready.
 * Skips, saying why, where Dawn finds no adapter (no Mesa 23+ lavapipe: see test/setup/programs.ts).
 */
const adapter = await import('webgpu')
  .then(async ({ create, globals }) => {
    Object.assign(globalThis, globals);
    return (await create([]).requestAdapter())?.info ?? null;
  })
  .catch(() => null);
if (!adapter) console.warn('webgpu worker test skipped: Dawn finds no WebGPU adapter here');

const url = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const env = await serviceEnv('webgpu-worker', url, { TRAINYARD_BACKEND: 'webgpu', WORKER_HEARTBEAT_MS: '200' });
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await env.cleanup();
});

describe.skipIf(!adapter)('a webgpu worker process', () => {
  it('is listed as warming up with its adapter until its kernels are compiled, then as ready', async () => {
    const redis = new Redis(url);
    cleanups.push(async () => redis.disconnect());
    const presence = workerPresence(env.config, redis);
    const starting = WorkerProcess.start(env.env);
    cleanups.push(async () => (await starting).kill('SIGTERM'));
    // Polled while the worker starts: the warm-up lasts seconds on lavapipe, far longer than a poll.
    let first: WorkerAnnouncement | undefined;
    while (!first) {
      [first] = await presence.live();
      if (!first) await Promise.race([starting, new Promise((r) => setTimeout(r, 20))]);
    }
    expect(first.state).toBe('warming-up');
    expect(first.backend).toMatchObject({ name: 'webgpu', device: isSoftwareAdapter(adapter!) ? 'cpu' : 'gpu', adapter: { description: adapter!.description } });

    const worker = await starting;
    expect(worker.log).toMatch(/"msg":"warmed up"/);
    const api = await Api.start(env.config);
    cleanups.push(() => api.close());
    const listed = await api.json<{ workers: WorkerAnnouncement[] }>('GET', '/v1/admin/workers');
    expect(listed.body.workers).toEqual([{ ...first, state: 'ready' }]);
    expect((await api.json('GET', '/readyz')).body).toEqual({ status: 'ready', workers: { ready: 1, warmingUp: 0 } });

    await worker.kill('SIGTERM');
    expect(await presence.live()).toEqual([]);
  });
});
