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
import type { TrainingCheckpoint } from '../nn/checkpoint.js';
import type { CheckpointStore, JobCheckpoint } from '../store/checkpoints.js';
import { ModelStoreError, PublicationRefused, type ModelStore, type PublicationFence } from '../store/models.js';
import { startingModel, type InitialModelUse, type StartingModel } from '../run/initial-model.js';
import { ProgressPublisher } from './progress-publisher.js';

/**
 * Trains one job with progress events and saves the model under the job's model id. Input that
 * fails validation, a failed custom layer check and a model store that cannot save are
 * UserProblems (the job fails with them, no retry). A memory fault fails the job with a sentence
 * saying so, and calls onMemoryFault: the process must not run another tensor (src/nn/out-of-memory.ts).
 *
 * It checkpoints as the job's options say (and at least every CHECKPOINT_MAX_MINUTES); a job taken
 * again (its worker died or handed it back) resumes from its latest checkpoint, says so in its
 * events, and reports no iteration again that an earlier attempt reported. The checkpoints go when
 * the job ends here; a job handed back, paused, or owned by a later attempt, keeps them.
 */
export function trainingJobHandler(
  config: Config,
  parts: { backend: BackendInfo; models: ModelStore; datasets: DatasetCatalogue; checkpoints: CheckpointStore },
  onMemoryFault: () => void = () => {},
  log: { warn(obj: object, msg: string): void } = console,
): JobHandler {
  const { backend, models, datasets, checkpoints } = parts;
  return async (ctx: JobContext) => {
    await ctx.setBackend(backend.name);
    const { network, options } = ctx.request;
    const dataset = await datasets.resolve(ctx.request.dataset, ctx.tenant);
    if ('problem' in dataset) throw new UserProblem({ title: 'Unknown dataset', detail: dataset.problem.message, problems: [dataset.problem] });
    const publisher = new ProgressPublisher(ctx.publishProgress, config.events.progressIntervalMs);
    const fence = { attempt: ctx.attempt, holds: ctx.holds };
    let memoryFault = false;
    let initial: StartingModel | null = null;
    try {
      // The API validated the request before queueing; this process validates it once more, against the data it trains on.
      const request = await requireValidTrainingRequest({ network, options }, dataset, config);
      const resume = await resumePoint(ctx, checkpoints, log);
      // A resumed run takes every weight from its checkpoint, and its lineage too where the checkpoint kept it: the initial model may be deleted by then.
      const kept = resume.initialModel;
      initial = !ctx.request.initialModel ? null : kept ? { use: kept, model: null } : await startingModel(models, ctx.request.initialModel, ctx.tenant, request.network, resume.from === null);
      const origin = { initialModel: initial?.use ?? null, resumedCount: resume.resumes };
      const target = { id: ctx.modelId, store: models, jobId: ctx.id, tenant: ctx.tenant, ...(ctx.request.name ? { name: ctx.request.name } : {}), keepAborted: ctx.keepStoppedModel, fence, origin };
      const { manifest } = await trainAndSave(config, backend, dataset, request, target, {
        // An iteration an earlier attempt reported is run again (the same numbers) but not reported twice.
        onProgress: (record) => void (record.iteration > resume.reported && publisher.offer(record)),
        signal: ctx.signal,
        // Progress goes out at most this often, so the device is read no more often either.
        readbackIntervalMs: config.events.progressIntervalMs,
        ...(resume.from ? { resumeFrom: resume.from } : {}),
        ...(initial?.model ? { initialWeights: { model: initial.model.model, layers: initial.use.layersFromModel } } : {}),
        onCheckpoint: (checkpoint) => saveCheckpoint(ctx, checkpoints, { checkpoint, resumes: resume.resumes, initialModel: initial?.use ?? null }, fence),
        checkpointIntervalMs: config.checkpoints.maxMinutes * 60_000,
        // A worker shutting down checkpoints the job before handing it back; a paused job, before it leaves its worker.
        checkpointWhenStopped: () => ctx.signal.reason === 'shutdown' || ctx.signal.reason === 'pause',
      });
      await publisher.flush();
      if (!manifest) return { modelId: ctx.modelId, metrics: { miniBatchLoss: null, miniBatchAccuracy: null }, unsaved: true };
      return { modelId: manifest.id, metrics: manifest.metrics };
    } catch (err) {
      await publisher.flush().catch(() => {});
      if (isMemoryFault(err)) {
        memoryFault = true;
        throw err instanceof OutOfMemoryError ? err : new OutOfMemoryError('training', err);
      }
      if (err instanceof ModelStoreError) throw new UserProblem({ title: 'Model not saved', detail: err.message }, { cause: err });
      throw err;
    } finally {
      if (!memoryFault) initial?.model?.dispose();
      // Ended here for good (done, failed, cancelled, out of time): its checkpoints are of no more use.
      if (!isHandedOn(ctx.signal)) await checkpoints.deleteAll(ctx.id).catch((err: unknown) => log.warn({ jobId: ctx.id, err: String(err) }, 'checkpoints not deleted'));
      // Last, with nothing awaited after it: the recycle it starts (on a later turn) hands running jobs
      // back to the queue, so this job's failure must reach the lifecycle first. Called before the
      // deletion above, the recycle ran during it and handed the failed job back instead.
      if (memoryFault) onMemoryFault();
    }
  };
}

/** Stopped to be handed back to the queue, paused, or because a later attempt owns the job: it goes on later or elsewhere, from its checkpoints. */
function isHandedOn(signal: AbortSignal): boolean {
  return signal.aborted && (signal.reason === 'shutdown' || signal.reason === 'pause' || signal.reason === 'stale');
}

/**
 * Where this attempt starts: the job's latest readable checkpoint, or the start; the events say which,
 * naming the newer checkpoints skipped as unreadable. And the last iteration already reported, not to be reported again.
 */
async function resumePoint(
  ctx: JobContext,
  checkpoints: CheckpointStore,
  log: { warn(obj: object, msg: string): void },
): Promise<{ from: TrainingCheckpoint | null; reported: number; resumes: number; initialModel: InitialModelUse | null }> {
  const { found, skipped } = await checkpoints.latest(ctx.id);
  for (const s of skipped) log.warn({ jobId: ctx.id, iteration: s.iteration, reason: s.reason, fallback: found ? found.checkpoint.iteration : 'restart' }, 'checkpoint skipped');
  if (!found) {
    // Every checkpoint is unreadable: the user is told the run starts over, and why.
    if (skipped.length) await ctx.restarted(skipped);
    return { from: null, reported: 0, resumes: 0, initialModel: null };
  }
  const reported = await ctx.lastReportedIteration(found.lastEventId);
  await ctx.resumed(found.checkpoint.iteration, found.checkpoint.trainingSeconds, skipped);
  return { from: found.checkpoint, reported: Math.max(reported, found.checkpoint.iteration), resumes: (found.resumes ?? 0) + 1, initialModel: found.initialModel ?? null };
}

/** A checkpoint that cannot be written fails the job, saying why (the one before stays whole); a stale attempt's is refused quietly. */
async function saveCheckpoint(
  ctx: JobContext,
  checkpoints: CheckpointStore,
  kept: Omit<JobCheckpoint, 'lastEventId'>,
  fence: PublicationFence,
): Promise<void> {
  const { checkpoint } = kept;
  try {
    await checkpoints.save(ctx.id, { ...kept, lastEventId: await ctx.lastEventId() }, fence);
  } catch (err) {
    if (err instanceof PublicationRefused) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserProblem(
      { title: 'Checkpoint not saved', detail: `the checkpoint after iteration ${checkpoint.iteration} could not be saved: ${code ? ModelStoreError.explain(code) : 'the store failed'}` },
      { cause: err },
    );
  }
}
