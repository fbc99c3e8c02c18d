import { readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/queue/jobs.js';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { PrivateRedis } from '../helpers/redis.js';
import { seedNetwork, WorkerProcess } from '../helpers/service.js';
import { Stack } from '../helpers/stack.js';
import { watchCli } from '../helpers/watch-cli.js';

/**
 * Checkpoints on real worker processes: a worker killed mid-run (or stopped, or a job paused), a
 * worker resuming the job from its latest checkpoint, and the finished model compared with an
 * uninterrupted run's.
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

let uninterrupted: Promise<{ weights: Float32Array; metrics: unknown }> | undefined;
/** The model of the same job trained without a stop (once, on whichever worker runs then). */
function uninterruptedRun(): Promise<{ weights: Float32Array; metrics: unknown }> {
  uninterrupted ??= (async () => {
    const whole = await stack.api.submit(job('uninterrupted'));
    const done = await stack.api.waitFor(whole.body.id, (j) => j.status === 'completed' || j.status === 'failed');
    expect(done).toMatchObject({ status: 'completed', attempts: 1 });
    expect(await resumedCountOf(whole.body.id)).toBe(0);
    return { weights: await weightsOf(whole.body.id), metrics: done.metrics };
  })();
  return uninterrupted;
}

async function resumedCountOf(modelId: string): Promise<unknown> {
  return (await stack.api.json<{ lineage?: { resumedCount: number } }>('GET', `/v1/models/${modelId}`)).body.lineage?.resumedCount;
}

/** The finished model equals the uninterrupted run's within float32 rounding, its lineage counts its resumes, and the job left no checkpoint. */
async function expectUninterruptedModel(modelId: string, resumes = 1): Promise<void> {
  const [resumed, whole] = await Promise.all([weightsOf(modelId), uninterruptedRun()]);
  expect(await resumedCountOf(modelId)).toBe(resumes);
  expect(resumed.length).toBe(whole.weights.length);
  let worst = 0;
  for (let i = 0; i < resumed.length; i++) worst = Math.max(worst, Math.abs(resumed[i]! - whole.weights[i]!) / (1 + Math.abs(whole.weights[i]!)));
  expect(worst).toBeLessThanOrEqual(1e-6);
  expect((await stack.api.job(modelId)).metrics).toEqual(whole.metrics);
  expect(await new FileBlobStore(stack.env.dataDir).list('checkpoints')).toEqual([]);
}

/** Every iteration reported once, in order, across the attempts, up to the last; and what the resumed event says. */
function expectOneReportPerIteration(events: StoredEvent[]): number {
  const resumed = events.filter((e) => e.type === 'status' && e.status === 'resumed');
  expect(resumed).toHaveLength(1);
  const iterations = events.flatMap((e) => (e.type === 'progress' ? [e.iteration] : []));
  expect(iterations).toEqual([...new Set(iterations)].sort((a, b) => a - b));
  expect(iterations.at(-1)).toBe(60);
  return (resumed[0] as { iteration: number }).iteration;
}

/** The job's checkpoint sets on disk, oldest first (the test knows the file store's layout: DATA_DIR/checkpoints/<job id>.<iteration>/). */
async function checkpointSetsOf(jobId: string): Promise<{ iteration: number; tensors: string }[]> {
  const names = (await new FileBlobStore(stack.env.dataDir).list('checkpoints')).filter((n) => n.startsWith(`${jobId}.`)).sort();
  return names.map((name) => ({ iteration: Number(name.slice(jobId.length + 1)), tensors: path.join(stack.env.dataDir, 'checkpoints', name, 'tensors.bin') }));
}

/** Submits the job, SIGKILLs the worker once the job has two checkpoints, and has `corrupt` spoil some of them before the next worker starts. */
async function killWithCheckpoints(name: string, corrupt: (sets: { iteration: number; tensors: string }[]) => Promise<void>) {
  const { api } = stack;
  const submitted = await api.submit(job(name));
  expect(submitted.status).toBe(202);
  const watcher = api.watch(submitted.body.id);
  // Checkpoints every 5 iterations, two kept: after iteration 12 was reported, those after 5 and 10 (or later ones) exist
  // (a third for a moment, when the kill lands between a checkpoint's publication and the oldest one's removal).
  await watcher.until((e) => e.type === 'progress' && e.iteration >= 12);
  await Promise.all(stack.workers.splice(0).map((w) => w.kill('SIGKILL')));
  const sets = await checkpointSetsOf(submitted.body.id);
  expect(sets.length).toBeGreaterThanOrEqual(2);
  await corrupt(sets);
  stack.workers.push(await WorkerProcess.start(stack.env.env));
  expect(await watcher.closed).toMatchObject({ code: 1000 });
  expect(watcher.events.at(-1)!.type).toBe('completed');
  expect(await api.job(submitted.body.id)).toMatchObject({ status: 'completed', attempts: 2 });
  return { id: submitted.body.id, events: watcher.events, sets };
}

async function truncateHalf(file: string): Promise<number> {
  const bytes = (await readFile(file)).length;
  await truncate(file, bytes >> 1);
  return bytes;
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

    // The checkpoint after iteration 10 was written before iteration 11 ran, so before 12 was reported.
    const from = expectOneReportPerIteration(watcher.events);
    expect(from).toBeGreaterThanOrEqual(10);
    expect(from % 5).toBe(0);
    await expectUninterruptedModel(killed.body.id);
  });

  it('checkpoints a job where it stopped when its worker is stopped with SIGTERM, and the next worker resumes it from there', async () => {
    const { api } = stack;
    const stopped = await api.submit(job('stopped'));
    const watcher = api.watch(stopped.body.id);
    await watcher.until((e) => e.type === 'progress' && e.iteration >= 7);
    const [worker] = stack.workers.splice(0);
    expect(await worker!.kill('SIGTERM')).toBe(0);
    expect(worker!.log).toContain('handed back to the queue');
    expect((await api.job(stopped.body.id)).status).toBe('queued');
    stack.workers.push(await WorkerProcess.start(stack.env.env));
    expect(await watcher.closed).toMatchObject({ code: 1000 });
    expect(await api.job(stopped.body.id)).toMatchObject({ status: 'completed', attempts: 2 });
    // Resumed where it stopped (after the last iteration it reported), not at the periodic checkpoint before.
    const from = expectOneReportPerIteration(watcher.events);
    const handedBack = watcher.events.findIndex((e) => e.type === 'status' && e.status === 'queued' && e.id !== watcher.events[0]!.id);
    expect(from).toBe(Math.max(...watcher.events.slice(0, handedBack).flatMap((e) => (e.type === 'progress' ? [e.iteration] : []))));
    expect(from).toBeGreaterThanOrEqual(7);
    await expectUninterruptedModel(stopped.body.id);
  });

  it('pauses a running job at an iteration boundary, keeping its checkpoint and freeing its worker for the next job; resumed, it ends with the model of an uninterrupted run', async () => {
    const { api } = stack;
    const paused = await api.submit(job('paused'));
    const id = paused.body.id;
    const watcher = api.watch(id);
    await watcher.until((e) => e.type === 'progress' && e.iteration >= 7);
    // Waits behind the running job: the only worker is busy.
    const next = await api.submit({ ...job('next'), dataset: { id: 'digits', trainImages: 128 }, options: { ...job('next').options, maxEpochs: 1 } });
    const asked = await api.json('POST', `/v1/jobs/${id}/pause`);
    expect(asked.status).toBe(202);
    expect(asked.body).toMatchObject({ status: 'running', pauseRequested: true });
    const pausedEvent = (await watcher.until((e) => e.type === 'status' && e.status === 'paused')) as StoredEvent & { iteration: number };
    expect(await api.job(id)).toMatchObject({ status: 'paused', workerId: null, pauseRequested: false, attempts: 1 });
    expect(await new FileBlobStore(stack.env.dataDir).list('checkpoints')).toContain(`${id}.${String(pausedEvent.iteration).padStart(12, '0')}`);
    expect(await api.waitFor(next.body.id, (j) => j.status === 'completed' || j.status === 'failed')).toMatchObject({ status: 'completed' });
    expect((await api.job(id)).status).toBe('paused');

    // A watcher that joins after the pause follows the resumed run from there.
    const later = api.watch(id, pausedEvent.id);
    const resumed = await api.json('POST', `/v1/jobs/${id}/resume`);
    expect(resumed.status).toBe(202);
    expect(resumed.body).toMatchObject({ status: 'queued' });
    // The socket opened before the pause stayed open through it, to the end.
    expect(await watcher.closed).toMatchObject({ code: 1000 });
    expect(watcher.events.at(-1)!.type).toBe('completed');
    expect(await api.job(id)).toMatchObject({ status: 'completed', attempts: 2 });
    expect(await later.closed).toMatchObject({ code: 1000 });
    expect(later.events.slice(0, 3).map((e) => (e.type === 'status' ? e.status : e.type))).toEqual(['queued', 'running', 'resumed']);

    // Resumed where it paused: the last iteration it reported before the pause.
    const from = expectOneReportPerIteration(watcher.events);
    const before = watcher.events.slice(0, watcher.events.indexOf(pausedEvent));
    expect(from).toBe(pausedEvent.iteration);
    expect(from).toBe(Math.max(...before.flatMap((e) => (e.type === 'progress' ? [e.iteration] : []))));
    await expectUninterruptedModel(id);
  });
  it('falls back to the previous checkpoint when the newest is truncated, names the one it skipped in the resumed event, and ends with the model of an uninterrupted run', async () => {
    let bytes = 0;
    const { id, events, sets } = await killWithCheckpoints('newest truncated', async (sets) => void (bytes = await truncateHalf(sets.at(-1)!.tensors)));
    const [previous, newest] = sets.slice(-2);
    expect(expectOneReportPerIteration(events)).toBe(previous!.iteration);
    expect(events.find((e) => e.type === 'status' && e.status === 'resumed')).toMatchObject({
      iteration: previous!.iteration,
      skippedCheckpoints: [{ iteration: newest!.iteration, reason: `its tensors are truncated: ${bytes >> 1} of their ${bytes} bytes` }],
    });
    // `npm run watch` says it in a sentence (following the finished job's events from the start).
    const watched = await watchCli(id, { TRAINYARD_URL: stack.api.base });
    expect(watched.code, watched.stderr).toBe(0);
    expect(watched.stdout).toContain(
      `job ${id}: Resumed from the checkpoint after iteration ${previous!.iteration}; the newer one could not be read (after iteration ${newest!.iteration}: its tensors are truncated: ${bytes >> 1} of their ${bytes} bytes).`,
    );
    await expectUninterruptedModel(id);
  });

  it('restarts from iteration 1 when no checkpoint can be read, saying so with each one skipped, and ends with the model of an uninterrupted run', async () => {
    // The newest truncated, the others altered (their size right, a byte flipped): the checksum finds those.
    const { id, events, sets } = await killWithCheckpoints('all corrupt', async (sets) => {
      await truncateHalf(sets.at(-1)!.tensors);
      for (const { tensors } of sets.slice(0, -1)) {
        const altered = await readFile(tensors);
        altered[100] = altered[100]! ^ 1;
        await writeFile(tensors, altered);
      }
    });
    const restarted = events.findIndex((e) => e.type === 'status' && e.status === 'restarted');
    const [newest, ...older] = [...sets].reverse();
    expect(events[restarted]).toMatchObject({
      skippedCheckpoints: [
        { iteration: newest!.iteration, reason: expect.stringMatching(/^its tensors are truncated: /) },
        ...older.map(({ iteration }) => ({ iteration, reason: 'its tensors do not match their checksum' })),
      ],
    });
    expect(events.some((e) => e.type === 'status' && e.status === 'resumed')).toBe(false);
    // The second attempt reports its iterations anew from the start, before the oldest checkpoint, to the last.
    const after = events.slice(restarted).flatMap((e) => (e.type === 'progress' ? [e.iteration] : []));
    expect(after).toEqual([...new Set(after)].sort((a, b) => a - b));
    expect(after[0]).toBeLessThan(sets[0]!.iteration);
    expect(after.at(-1)).toBe(60);
    await expectUninterruptedModel(id, 0);
  });
});
