import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { PrivateRedis } from '../helpers/redis.js';
import { seedNetwork, WorkerProcess } from '../helpers/service.js';
import { Stack } from '../helpers/stack.js';

/**
 * Checkpoints on real worker processes: a worker killed mid-run, a second one resuming the job
 * from its latest checkpoint, and the finished model compared with an uninterrupted run's.
 */
let redis: PrivateRedis;
let stack: Stack;

beforeAll(async () => {
  redis = await PrivateRedis.start();
  // A short lock: a killed worker's job is picked up again within seconds. Every record goes out as an event.
  stack = await Stack.start('checkpoints', redis.url, { JOB_LOCK_MS: '2000', JOB_STALLED_INTERVAL_MS: '1000', PROGRESS_INTERVAL_MS: '1' });
});
afterAll(async () => {
  await stack.stop();
  await redis.destroy();
});

/** Momentum (sgdm's default), batch norm (the seed network's), augmentation, reshuffling every epoch: all restored from the checkpoint. */
function job(name: string) {
  return {
    name,
    network: seedNetwork,
    dataset: { id: 'digits', trainImages: 1280 },
    options: {
      miniBatchSize: 64,
      maxEpochs: 3,
      seed: 7,
      shuffle: 'every-epoch',
      checkpointFrequency: 5,
      checkpointFrequencyUnit: 'iteration',
      augmentation: { randXReflection: true, randRotation: [-5, 5] },
    },
  };
}

async function weightsOf(modelId: string): Promise<Float32Array> {
  const bytes = await readFile(path.join(stack.env.dataDir, 'models', modelId, 'weights.bin'));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

describe('checkpoints end to end', () => {
  it('resumes a job whose worker was killed with SIGKILL from its latest checkpoint, and ends with the model of an uninterrupted run', async () => {
    const { api } = stack;
    const killed = await api.submit(job('killed'));
    expect(killed.status).toBe(202);
    const watcher = api.watch(killed.body.id);
    await watcher.until((e) => e.type === 'progress' && e.iteration >= 12);
    await Promise.all(stack.workers.splice(0).map((w) => w.kill('SIGKILL')));
    stack.workers.push(await WorkerProcess.start(stack.env.env));
    expect(await watcher.closed).toMatchObject({ code: 1000 });
    expect(watcher.events.at(-1)!.type).toBe('completed');
    expect(await api.job(killed.body.id)).toMatchObject({ status: 'completed', attempts: 2 });

    const resumed = watcher.events.filter((e) => e.type === 'status' && e.status === 'resumed');
    expect(resumed).toHaveLength(1);
    const from = (resumed[0] as { iteration: number }).iteration;
    // The checkpoint after iteration 10 was written before iteration 11 ran, so before 12 was reported.
    expect(from).toBeGreaterThanOrEqual(10);
    expect(from % 5).toBe(0);
    // Every iteration reported once, in order, across both attempts: the resumed one goes on where the killed one stopped reporting.
    const iterations = watcher.events.flatMap((e) => (e.type === 'progress' ? [e.iteration] : []));
    expect(iterations).toEqual([...new Set(iterations)].sort((a, b) => a - b));
    expect(iterations.at(-1)).toBe(60);
    expect(iterations.filter((i) => i > from).length).toBeGreaterThan(0);
    const resumedAt = watcher.events.indexOf(resumed[0]!);
    expect(watcher.events.slice(resumedAt + 1).find((e) => e.type === 'progress')).toMatchObject({ iteration: expect.any(Number) });

    const whole = await api.submit(job('uninterrupted'));
    const done = await api.waitFor(whole.body.id, (j) => j.status === 'completed' || j.status === 'failed');
    expect(done).toMatchObject({ status: 'completed', attempts: 1 });
    const [a, b] = await Promise.all([weightsOf(killed.body.id), weightsOf(whole.body.id)]);
    expect(a.length).toBe(b.length);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
    expect(worst).toBeLessThanOrEqual(1e-6);
    const [killedManifest, wholeManifest] = await Promise.all([killed.body.id, whole.body.id].map(async (id) => JSON.parse(await readFile(path.join(stack.env.dataDir, 'models', id, 'manifest.json'), 'utf8')) as { metrics: unknown; training: { iterations: number } }));
    expect(killedManifest!.metrics).toEqual(wholeManifest!.metrics);
    expect(killedManifest!.training.iterations).toBe(60);

    // A job that ended keeps no checkpoint.
    expect(await new FileBlobStore(stack.env.dataDir).list('checkpoints')).toEqual([]);
  });
});
