import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../src/queue/jobs.js';
import { datasetEvents, digitsZip, uploadRaw } from '../helpers/datasets.js';
import { seedNetwork, WorkerProcess } from '../helpers/service.js';
import { Stack } from '../helpers/stack.js';

/**
 * Fine-tuning on real worker processes: the seed network trained on digits, then trained on from
 * that model (the same network on the same data, and a new 5-class head on an uploaded dataset with
 * the kept convolution learning 10x slower), each against the same job from scratch.
 */
let stack: Stack;
beforeAll(async () => {
  // Every record goes out as an event, so each iteration's loss can be compared.
  stack = await Stack.start('initial-model', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { PROGRESS_INTERVAL_MS: '1' });
});
afterAll(async () => {
  await stack.stop();
});

const settings = { miniBatchSize: 32, maxEpochs: 1, seed: 5 };

/** Runs a job to its end; its record and the losses of its iterations in order. */
async function run(body: Record<string, unknown>) {
  const submitted = await stack.api.submit(body);
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
  const watcher = stack.api.watch(submitted.body.id);
  await watcher.closed;
  const losses = watcher.events.flatMap((e: StoredEvent) => (e.type === 'progress' ? [e.miniBatchLoss] : []));
  return { job: await stack.api.job(submitted.body.id), losses, submitted: submitted.body };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function model(id: string) {
  return (await stack.api.json<Record<string, unknown> & { lineage: unknown; links: Record<string, string> }>('GET', `/v1/models/${id}`)).body;
}

describe('starting from a trained model', () => {
  let parentId = '';

  it('goes on from a model of the same network: its first iteration has a lower loss than the same job from scratch', async () => {
    const parent = await run({ name: 'digits-base', network: seedNetwork, dataset: { id: 'digits', trainImages: 1280 }, options: { ...settings, maxEpochs: 2 } });
    expect(parent.job.status).toBe('completed');
    parentId = parent.job.modelId!;
    expect((await model(parentId)).lineage).toEqual({
      initialModel: null,
      layersFromModel: [],
      layersNotFromModel: [],
      dataset: { id: 'digits', name: 'digits' },
      resumedCount: 0,
    });

    const data = { id: 'digits', trainImages: 320 };
    const scratch = await run({ network: seedNetwork, dataset: data, options: settings });
    const more = await run({ network: seedNetwork, dataset: data, options: settings, initialModel: parentId });
    expect(more.job.status).toBe('completed');
    expect(more.job.initialModel).toEqual({ id: parentId, name: 'digits-base', layersFromModel: ['conv_1', 'batchnorm_1', 'elu_1', 'fc_1'], layersNotFromModel: [] });
    expect(more.losses[0]).toBeLessThan(scratch.losses[0]! / 2);
    const child = await model(more.job.modelId!);
    expect(child.lineage).toMatchObject({ initialModel: { id: parentId, name: 'digits-base' }, layersFromModel: ['conv_1', 'batchnorm_1', 'elu_1', 'fc_1'] });
    expect(child.links.initialModel).toBe(`/v1/models/${parentId}`);
  });

  it('transfers to an uploaded 5-class dataset with a new head and a slower kept convolution, with lower losses than from scratch', async () => {
    const upload = await uploadRaw(stack.api, await digitsZip(60, 5), { query: '?name=five%20digits&seed=1' });
    expect(upload.status).toBe(202);
    const { events } = await datasetEvents(stack.api, upload.body.id);
    expect(events.at(-1)).toMatchObject({ type: 'ready' });
    // The README's worked example: conv_1 at a tenth of the learn rate, a new fc_five.
    const network = JSON.parse(await readFile(new URL('../../examples/transfer-five-classes.json', import.meta.url), 'utf8')) as unknown;
    const body = { network, dataset: upload.body.id, options: { ...settings, maxEpochs: 2 } };
    const scratch = await run(body);
    const tuned = await run({ ...body, initialModel: parentId });
    expect([scratch.job.status, tuned.job.status]).toEqual(['completed', 'completed']);
    expect(tuned.job.initialModel).toMatchObject({ layersFromModel: ['conv_1', 'batchnorm_1', 'elu_1'], layersNotFromModel: [{ layer: 'fc_five', reason: 'not in the model' }] });
    // Over the run, and on the test split at its end.
    expect(mean(tuned.losses)).toBeLessThan(mean(scratch.losses));
    expect(tuned.job.metrics!.testLoss!).toBeLessThan(scratch.job.metrics!.testLoss!);
    expect((await model(tuned.job.modelId!)).lineage).toEqual({
      initialModel: { id: parentId, name: 'digits-base' },
      layersFromModel: ['conv_1', 'batchnorm_1', 'elu_1'],
      layersNotFromModel: [{ layer: 'fc_five', reason: 'not in the model' }],
      dataset: { id: upload.body.id, name: 'five digits' },
      resumedCount: 0,
    });
  });

  it('fails a job whose initial model was deleted after it was queued, saying so', async () => {
    // No worker while the job waits: the model goes between the API's check and the worker's.
    await Promise.all(stack.workers.splice(0).map((w) => w.kill('SIGTERM')));
    const queued = await stack.api.submit({ network: seedNetwork, dataset: { id: 'digits', trainImages: 64 }, options: settings, initialModel: parentId });
    expect(queued.status).toBe(202);
    expect((await stack.api.json('DELETE', `/v1/models/${parentId}`)).status).toBe(204);
    stack.workers.push(await WorkerProcess.start(stack.env.env));
    const failed = await stack.api.waitFor(queued.body.id, (j) => j.status !== 'queued' && j.status !== 'running');
    expect(failed).toMatchObject({ status: 'failed', error: { title: 'Initial model not usable' } });
    expect(failed.error!.detail).toContain(`there is no model '${parentId}'`);
  });
});
