/**
 * @module The job handler: what a worker process does with one job it was given (src/lifecycle/job-lifecycle.ts).
 */
import type { Config } from '../config.js';
import type { DatasetCatalogue } from '../data/dataset-catalogue.js';
import type { JobContext, JobHandler } from '../lifecycle/job-lifecycle.js';
import type { BackendInfo } from '../nn/backend.js';
import { isMemoryFault, OutOfMemoryError } from '../nn/out-of-memory.js';
import { UserProblem } from '../nn/problems.js';
import { trainAndSave } from '../run/train-and-save.js';
import { requireValidTrainingRequest } from '../run/training-request.js';
import { ModelStoreError, type ModelStore } from '../store/models.js';
import { ProgressPublisher } from './progress-publisher.js';

/**
 * Trains one job with progress events and saves the model under the job's model id. Input that
 * fails validation, a failed custom layer check and a model store that cannot save are
 * UserProblems (the job fails with them, no retry). A memory fault fails the job with a sentence
 * saying so, and calls onMemoryFault: the process must not run another tensor (src/nn/out-of-memory.ts).
 */
export function trainingJobHandler(
  config: Config,
  parts: { backend: BackendInfo; models: ModelStore; datasets: DatasetCatalogue },
  onMemoryFault: () => void = () => {},
): JobHandler {
  const { backend, models, datasets } = parts;
  return async (ctx: JobContext) => {
    await ctx.setBackend(backend.name);
    const { network, options } = ctx.request;
    const dataset = await datasets.resolve(ctx.request.dataset, ctx.tenant);
    if ('problem' in dataset) throw new UserProblem({ title: 'Unknown dataset', detail: dataset.problem.message, problems: [dataset.problem] });
    const publisher = new ProgressPublisher(ctx.publishProgress, config.events.progressIntervalMs);
    try {
      // The API validated the request before queueing; this process validates it once more, against the data it trains on.
      const request = await requireValidTrainingRequest({ network, options }, dataset, config);
      const target = { id: ctx.modelId, store: models, jobId: ctx.id, tenant: ctx.tenant, keepAborted: ctx.keepStoppedModel, fence: { attempt: ctx.attempt, holds: ctx.holds } };
      const { manifest } = await trainAndSave(config, backend, dataset, request, target, {
        onProgress: (record) => publisher.offer(record),
        signal: ctx.signal,
        // Progress goes out at most this often, so the device is read no more often either.
        readbackIntervalMs: config.events.progressIntervalMs,
      });
      await publisher.flush();
      return { modelId: manifest?.id ?? ctx.modelId, metrics: manifest?.metrics ?? { miniBatchLoss: null, miniBatchAccuracy: null } };
    } catch (err) {
      await publisher.flush().catch(() => {});
      if (isMemoryFault(err)) {
        onMemoryFault();
        throw err instanceof OutOfMemoryError ? err : new OutOfMemoryError('training', err);
      }
      if (err instanceof ModelStoreError) throw new UserProblem({ title: 'Model not saved', detail: err.message }, { cause: err });
      throw err;
    }
  };
}
