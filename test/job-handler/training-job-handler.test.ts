import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { DatasetCatalogue } from '../../src/data/dataset-catalogue.js';
import { trainingJobHandler } from '../../src/job-handler/training-job-handler.js';
import type { JobContext } from '../../src/lifecycle/job-lifecycle.js';
import { initBackend, type BackendInfo } from '../../src/nn/backend.js';
import { UserProblem } from '../../src/nn/problems.js';
import type { ProgressRecord } from '../../src/nn/train.js';
import type { BlobStore } from '../../src/store/blob-store.js';
import { CheckpointStore } from '../../src/store/checkpoints.js';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { ModelStore } from '../../src/store/models.js';
import { digits, seedNetworkJson } from '../helpers/data.js';
import { saveTestModel } from '../helpers/models.js';

let backend: BackendInfo;
let dir: string;
beforeAll(async () => {
  backend = await initBackend('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'trainyard-handler-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const quiet = { warn: () => {} };

/** The handler with real stores in a folder of its own (checkpoints in `checkpointBlobs` when given), on 128 digits. */
async function handlerIn(name: string, checkpointBlobs?: BlobStore) {
  const blobs = new FileBlobStore(path.join(dir, name));
  const data = { id: 'digits', name: 'digits', sizeMode: 'resize' as const, source: (await digits(128, 64)).source };
  const datasets = { resolve: async () => data } as unknown as DatasetCatalogue;
  const checkpoints = new CheckpointStore(checkpointBlobs ?? blobs);
  const handler = trainingJobHandler(loadConfig({ PROGRESS_INTERVAL_MS: '1' }), { backend, models: new ModelStore(blobs), datasets, checkpoints }, () => {}, quiet);
  return { handler, checkpoints, models: new ModelStore(blobs) };
}

/** A job's context as the lifecycle gives it, recording what the handler publishes. */
function context(attempt: number, overrides: Partial<JobContext> = {}) {
  const published: ProgressRecord[] = [];
  const resumed: number[] = [];
  const ctx: JobContext = {
    id: 'j-1',
    modelId: `m-${attempt}`,
    tenant: 't',
    request: { network: seedNetworkJson, dataset: 'digits', options: { miniBatchSize: 32, maxEpochs: 3, seed: 3, checkpointFrequency: 2, checkpointFrequencyUnit: 'iteration' } },
    attempt,
    signal: new AbortController().signal,
    keepStoppedModel: () => false,
    holds: async () => true,
    publishProgress: async (r) => void published.push(r),
    setBackend: async () => {},
    lastEventId: async () => null,
    lastReportedIteration: async () => 0,
    resumed: async (iteration) => void resumed.push(iteration),
    restarted: async () => {},
    ...overrides,
  };
  return { ctx, published, resumed };
}

describe('the training job handler with checkpoints', () => {
  it('fails the job with a clear reason when a checkpoint cannot be written', async () => {
    const full = new FileBlobStore(path.join(dir, 'full'));
    full.putSet = async () => {
      throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    };
    const { handler } = await handlerIn('full', full);
    const failure = await handler(context(1).ctx).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(UserProblem);
    expect(failure).toMatchObject({ title: 'Checkpoint not saved', message: expect.stringMatching(/after iteration 2 .*out of space \(ENOSPC\)/) });
  });

  it('keeps the checkpoints of a job handed back, resumes it on the next attempt without reporting an iteration twice, and deletes them at its end', async () => {
    const { handler, checkpoints } = await handlerIn('resume');
    const controller = new AbortController();
    const first = context(1, { signal: controller.signal });
    // Shut down once iteration 5 or later was reported (every record goes out, at PROGRESS_INTERVAL_MS 1): the handler checkpoints where it stopped before handing the job back.
    first.ctx.publishProgress = async (r) => {
      first.published.push(r);
      if (r.iteration >= 5) controller.abort('shutdown');
    };
    await handler(first.ctx);
    const stoppedAt = (await checkpoints.latest('j-1')).found?.checkpoint.iteration ?? 0;
    expect(stoppedAt).toBe(first.published.at(-1)!.iteration);
    expect(stoppedAt).toBeLessThan(12);

    const second = context(2, { lastReportedIteration: async () => stoppedAt });
    const outcome = await handler(second.ctx);
    expect(outcome.modelId).toBe('m-2');
    expect(second.resumed).toEqual([stoppedAt]);
    expect(second.published[0]?.iteration).toBe(stoppedAt + 1);
    expect(second.published.at(-1)?.iteration).toBe(12);
    expect((await checkpoints.latest('j-1')).found).toBeNull();
  });

  it('resumes a job started from a model with the lineage its checkpoint kept, even once that model is deleted', async () => {
    const { handler, checkpoints, models } = await handlerIn('resume-initial');
    await saveTestModel(path.join(dir, 'resume-initial'), 'parent', { tenant: 't' });
    const controller = new AbortController();
    const request = { ...context(1).ctx.request, initialModel: 'parent' };
    const first = context(1, { signal: controller.signal, request });
    first.ctx.publishProgress = async (r) => {
      first.published.push(r);
      if (r.iteration >= 3) controller.abort('shutdown');
    };
    await handler(first.ctx);
    expect((await checkpoints.latest('j-1')).found?.initialModel).toMatchObject({ id: 'parent', layersFromModel: expect.arrayContaining(['conv_1']) });
    expect(await models.delete('parent')).toBe(true);

    const second = context(2, { request });
    const outcome = await handler(second.ctx);
    expect(second.resumed).toHaveLength(1);
    const manifest = await models.manifest(outcome.modelId);
    expect(manifest?.lineage).toMatchObject({ initialModel: { id: 'parent' }, resumedCount: 1 });
  });
});
