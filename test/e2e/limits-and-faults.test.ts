import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../src/queue/jobs.js';
import { PrivateRedis } from '../helpers/redis.js';
import { seedNetwork, WorkerProcess } from '../helpers/service.js';
import { Stack } from '../helpers/stack.js';

let redis: PrivateRedis;
beforeAll(async () => {
  redis = await PrivateRedis.start();
});
afterAll(() => redis.destroy());

const job = (trainImages: number, maxEpochs: number, name = 'limits') => ({
  name,
  network: seedNetwork,
  dataset: { id: 'digits', trainImages },
  options: { maxEpochs, miniBatchSize: 64, seed: 1 },
});

describe('per-tenant limits that need workers', () => {
  let stack: Stack;
  const alice = { authorization: 'Bearer alice-key-0123456789abcdef' };
  const bob = { authorization: 'Bearer bob-key-0123456789abcdef' };
  beforeAll(async () => {
    stack = await Stack.start('limits', redis.url, { API_KEYS: 'alice:alice-key-0123456789abcdef,bob:bob-key-0123456789abcdef', TENANT_MAX_RUNNING_JOBS: '1' }, 2);
  });
  afterAll(() => stack.stop());

  it("never runs more of a tenant's jobs at once than TENANT_MAX_RUNNING_JOBS, while another tenant's job runs beside them", async () => {
    const api = stack.api;
    const ids = [(await api.submit(job(5000, 2), alice)).body.id, (await api.submit(job(5000, 2), alice)).body.id];
    const bobs = (await api.submit(job(5000, 2), bob)).body.id;
    let aliceTogether = 0;
    let acrossTenants = 0;
    for (;;) {
      const [a1, a2, b] = await Promise.all([...ids, bobs].map((id) => api.json<JobRecord>('GET', `/v1/jobs/${id}`, undefined, id === bobs ? bob : alice)));
      const running = [a1!, a2!].filter((r) => r.body.status === 'running').length;
      if (running > 1) aliceTogether++;
      if (running === 1 && b!.body.status === 'running') acrossTenants++;
      if ([a1!, a2!, b!].every((r) => ['completed', 'failed', 'cancelled'].includes(r.body.status))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(aliceTogether).toBe(0);
    expect(acrossTenants).toBeGreaterThan(0);
    for (const id of ids) expect((await api.json<JobRecord>('GET', `/v1/jobs/${id}`, undefined, alice)).body).toMatchObject({ status: 'completed', attempts: 1 });
  });
});

describe('the training time limit', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.start('timelimit', redis.url, { MAX_TRAINING_SECONDS: '3' });
  });
  afterAll(() => stack.stop());

  it('fails a job that trains longer than MAX_TRAINING_SECONDS with a clear reason, and keeps its model so far', async () => {
    const { status, body } = await stack.api.submit(job(5000, 30, 'too-long'));
    expect(status).toBe(202);
    const done = await stack.api.waitFor(body.id, (j) => j.status !== 'queued' && j.status !== 'running');
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ title: 'Training time limit reached', detail: expect.stringContaining('MAX_TRAINING_SECONDS') });
    expect(done.modelId).toBe(body.id);
    const model = await stack.api.json<{ training: { stopReason: string } }>('GET', `/v1/models/${body.id}`);
    expect(model.body.training.stopReason).toBe('aborted');
    const predicted = await stack.api.json('POST', `/v1/models/${body.id}/predict`, { instances: [new Array(784).fill(0)] });
    expect(predicted.status).toBe(200);
  });
});

describe('faults', () => {
  it("recycles a worker whose wasm heap overflowed: that job fails saying it ran out of memory, the process exits, a fresh one trains the next job right", async () => {
    const stack = await Stack.start('oom', redis.url);
    try {
      // Past the API's estimate on purpose, straight onto the queue: 700 x 28x28x2048 float32 is more than the 4 GiB heap, and overflows in the first iteration.
      const overflowing = {
        name: 'overflows',
        network: { layers: [seedNetwork.layers[0], { type: 'convolution2d', filterSize: [3, 3], numFilters: 2048, padding: 'same' }, ...seedNetwork.layers.slice(-3)] },
        dataset: { id: 'digits', trainImages: 700 },
        options: { maxEpochs: 1, miniBatchSize: 700, seed: 1 },
      };
      const submitted = await stack.api.services.queue.submit(overflowing as never, { tenant: 'local', maxQueued: 10 });
      if (!('record' in submitted)) throw new Error('not queued');
      const failed = await stack.api.waitFor(submitted.record.id, (j) => j.status !== 'queued' && j.status !== 'running');
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatchObject({ title: 'Out of memory', detail: expect.stringMatching(/^training ran out of memory while training: .*smaller miniBatchSize/) });
      expect(await stack.workers[0]!.exited).toBe(75);

      stack.workers.push(await WorkerProcess.start(stack.env.env));
      const next = await stack.api.submit(job(3000, 2, 'after-oom'));
      expect(next.status).toBe(202);
      const done = await stack.api.waitFor(next.body.id, (j) => j.status !== 'queued' && j.status !== 'running');
      expect(done.status).toBe('completed');
      expect(done.metrics?.miniBatchLoss).toEqual(expect.any(Number));
      expect(done.metrics?.testAccuracy).toBeGreaterThan(0.8);
    } finally {
      await stack.stop();
    }
  });

  it('survives a Redis restart (AOF): queued and running jobs all finish; API and worker reconnect by themselves', async () => {
    const stack = await Stack.start('redis-restart', redis.url, { JOB_LOCK_MS: '30000' });
    try {
      const { api } = stack;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await api.submit(job(5000, 2, `restart-${i}`))).body.id);
      const watcher = api.watch(ids[0]!);
      await watcher.until((e) => e.type === 'progress');
      await redis.stop();
      expect((await api.json('GET', '/readyz')).status).toBe(503);
      await new Promise((r) => setTimeout(r, 1500));
      await redis.run();
      for (const id of ids) {
        const done = await api.waitFor(id, (j) => ['completed', 'failed', 'cancelled'].includes(j.status), 180_000);
        expect(done.status, `${id}: ${JSON.stringify(done.error)}`).toBe('completed');
      }
      expect((await api.json('GET', '/readyz')).status).toBe(200);
    } finally {
      await stack.stop();
    }
  });

  it('fails a job whose model cannot be written (DATA_DIR/models not a folder), with no half-written model', async () => {
    const stack = await Stack.start('unwritable', redis.url);
    try {
      await writeFile(path.join(stack.env.dataDir, 'models'), 'not a folder');
      const { status, body } = await stack.api.submit(job(128, 1, 'unwritable'));
      expect(status).toBe(202);
      const done = await stack.api.waitFor(body.id, (j) => j.status === 'failed' || j.status === 'completed');
      expect(done.status).toBe('failed');
      expect(done.error).toEqual({ title: 'Model not saved', detail: "the model could not be saved: the model store's folder is not a folder (EEXIST)" });
      expect(JSON.stringify(done)).not.toContain(stack.env.dataDir);
      expect((await stack.api.json('GET', `/v1/models/${body.id}`)).status).toBe(404);
      expect((await stack.api.json('GET', '/v1/models')).status).toBe(200);
    } finally {
      await stack.stop();
    }
  });

  const canMount = spawnSync('sh', ['-c', 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d"'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!canMount)('fails a job whose disk is full (a 256 KiB tmpfs), leaving nothing half-written', async () => {
    const stack = await Stack.start('disk-full', redis.url);
    const models = path.join(stack.env.dataDir, 'models');
    await mkdir(models);
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', models]).status).toBe(0);
    try {
      const { status, body } = await stack.api.submit(job(128, 1, 'disk-full'));
      expect(status).toBe(202);
      const done = await stack.api.waitFor(body.id, (j) => j.status === 'failed' || j.status === 'completed');
      expect(done.status).toBe('failed');
      expect(done.error?.detail).toBe('the model could not be saved: the model store is out of space (ENOSPC)');
      expect(await readdir(models)).toEqual([]);
      expect((await stack.api.json('GET', `/v1/models/${body.id}`)).status).toBe(404);
    } finally {
      spawnSync('umount', [models]);
      await stack.stop();
    }
  });
});

