import type { Config } from '../config.js';
import { loadBuiltInDataset, resolveDatasetRef } from '../data/catalog.js';
import type { BackendInfo } from '../nn/backend.js';
import { CustomLayerCheckError } from '../nn/custom/check-error.js';
import { ValidationError } from '../nn/problems.js';
import { JobFailure, type JobContext, type JobOutcome } from '../queue/training-worker.js';
import { trainAndSave } from '../run/train-and-save.js';
import { ModelStoreError, type ModelStore } from '../store/models.js';
import { ProgressPublisher } from './progress-publisher.js';

/**
 * What a worker does with one job: validate it again, train it with progress events, save the
 * model under the job's id. Invalid input becomes a JobFailure (failed, no retry).
 */
export function jobTrainer(config: Config, backend: BackendInfo, models: ModelStore): (ctx: JobContext) => Promise<JobOutcome> {
  return async (ctx) => {
    await ctx.setBackend(backend.name);
    const { network, options } = ctx.request;
    const dataset = resolveDatasetRef(ctx.request.dataset);
    if (!dataset) {
      const detail = `dataset ${JSON.stringify(ctx.request.dataset)} does not exist`;
      throw new JobFailure({ title: 'Unknown dataset', detail, problems: [{ path: 'dataset', message: detail }] });
    }
    const publisher = new ProgressPublisher(ctx.publishProgress, config.events.progressIntervalMs);
    try {
      const data = await loadBuiltInDataset(dataset.name);
      const request = { network, options, ...(dataset.trainImages ? { trainSize: dataset.trainImages } : {}) };
      const { manifest } = await trainAndSave(config, backend, data, request, { id: ctx.id, folder: models.folder(ctx.id), jobId: ctx.id, tenant: ctx.tenant, keepAborted: ctx.keepStoppedModel }, {
        onProgress: (record) => publisher.offer(record),
        signal: ctx.signal,
        // Progress goes out at most this often, so the device is read no more often either.
        readbackIntervalMs: config.events.progressIntervalMs,
      });
      await publisher.flush();
      return { modelId: manifest?.id ?? ctx.id, metrics: manifest?.metrics ?? { miniBatchLoss: null, miniBatchAccuracy: null } };
    } catch (err) {
      await publisher.flush().catch(() => {});
      if (err instanceof ValidationError) {
        throw new JobFailure({ title: 'Invalid training request', detail: err.message, problems: err.problems });
      }
      if (err instanceof ModelStoreError) throw new JobFailure({ title: 'Model not saved', detail: err.message });
      if (err instanceof CustomLayerCheckError) throw new JobFailure({ title: 'Custom layer check failed', detail: err.message, report: err.reports });
      throw err;
    }
  };
}
