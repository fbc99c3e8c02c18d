import type { Config } from '../config.js';
import type { ResolvedDataset } from '../data/dataset-catalogue.js';
import { imageStatistics } from '../data/image-statistics.js';
import type { BackendInfo } from '../nn/backend.js';
import { ensureCustomLayersPass } from '../nn/custom/check-runner.js';
import { isMemoryFault, OutOfMemoryError } from '../nn/out-of-memory.js';
import type { Layer, Size3 } from '../nn/spec.js';
import { train, type TrainHooks, type TrainResult } from '../nn/train.js';
import type { ModelLineage, ModelManifest, ModelStore, PublicationFence } from '../store/models.js';
import type { InitialModelUse } from './initial-model.js';
import { evaluationReport, misclassifiedSpriteName, testEvaluationOptions } from './evaluation-report.js';
import type { ValidTrainingRequest } from './training-request.js';

export interface TrainedAndSaved {
  result: TrainResult;
  /** Null when training was aborted and the target did not ask to keep a partial model. */
  manifest: ModelManifest | null;
}

/**
 * One whole training run of a validated request (src/run/training-request.ts), as the command line
 * and the worker both do it: check its custom layers, train on the dataset, measure test accuracy,
 * publish the model in the target's store with its test evaluation (confusion matrix, misclassified images). The classifier is disposed before returning; what
 * remains is in the store.
 */
export async function trainAndSave(
  config: Config,
  backend: BackendInfo,
  dataset: ResolvedDataset,
  request: ValidTrainingRequest,
  target: {
    id: string;
    store: ModelStore;
    jobId?: string;
    tenant?: string;
    /** The job's name, kept as the model's. */
    name?: string;
    keepAborted?: boolean | (() => boolean);
    fence?: PublicationFence;
    /** The model it started from (none: from scratch), and how many times the run resumed from a checkpoint (none: 0). */
    origin?: { initialModel: InitialModelUse | null; resumedCount: number };
  },
  hooks: TrainHooks = {},
): Promise<TrainedAndSaved> {
  const { network, options } = request;
  const { name, source } = dataset;
  const description = await source.describe();
  // Like MATLAB's checkLayer, but before every run: a custom layer that fails its check never trains (CustomLayerCheckError).
  // It runs in a thread, bounded like the API's checks, so the worker's event loop keeps renewing the job's lock.
  await ensureCustomLayersPass(network, { backend: config.backend, ...config.layerCheck }, hooks.signal);

  const result = await failingOutOfMemory('training', () => train(network, { source, name }, options, hooks));
  let faulted = false;
  try {
    // The time limit covers the test evaluation too: stopped in it, the run is 'aborted' without test metrics, as the job says.
    const test =
      result.stopReason === 'aborted'
        ? null
        : await failingOutOfMemory('evaluating on the test set', () => result.classifier.evaluate(source, 'test', hooks.signal, testEvaluationOptions(network.inputSize)));
    // A stop that arrives after the last pass still makes the run 'aborted': the job will say it was stopped, and so must the manifest.
    if (!test || hooks.signal?.aborted) result.stopReason = 'aborted';
    const keep = typeof target.keepAborted === 'function' ? target.keepAborted() : target.keepAborted;
    if (result.stopReason === 'aborted' && !keep) return { result, manifest: null };
    const inputStatistics = await imageStatistics(source, 'train');
    const report = test ? evaluationReport(test, result.classifier.classes, network.inputSize, inputStatistics) : null;
    const manifest: Omit<ModelManifest, 'files'> = {
      formatVersion: 1,
      id: target.id,
      ...(target.name ? { name: target.name } : {}),
      createdAt: new Date().toISOString(),
      network: request.source,
      classes: result.classifier.classes,
      inputSize: network.inputSize,
      normalization: normalizationOf(network.layers[0]!),
      inputStatistics,
      dataset: { id: dataset.id, name, sizeMode: dataset.sizeMode },
      training: trainingRecord(result, { options, dataset: name, trainImages: description.counts.train, backend }),
      metrics: {
        miniBatchLoss: result.last?.miniBatchLoss ?? null,
        miniBatchAccuracy: result.last?.miniBatchAccuracy ?? null,
        ...(result.validation ? { validationLoss: result.validation.loss, validationAccuracy: result.validation.accuracy } : {}),
        ...(test ? { testAccuracy: test.accuracy, testLoss: test.loss } : {}),
      },
      lineage: lineageOf(target.origin ?? { initialModel: null, resumedCount: 0 }, dataset),
      ...(report ? { evaluation: report.evaluation } : {}),
      ...(target.jobId ? { jobId: target.jobId } : {}),
      ...(target.tenant ? { tenant: target.tenant } : {}),
    };
    return { result, manifest: await failingOutOfMemory('saving the model', () => target.store.publish(result.classifier, manifest, target.fence, report?.sprite ? [{ name: misclassifiedSpriteName, body: report.sprite }] : [])) };
  } catch (err) {
    faulted = err instanceof OutOfMemoryError;
    throw err;
  } finally {
    // After a memory fault the heap is not to be touched again, not even to free: the process is recycled.
    if (!faulted) result.classifier.dispose();
  }
}

/** Runs a step of the run, turning a backend's memory fault into an OutOfMemoryError that says so. */
async function failingOutOfMemory<T>(during: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw isMemoryFault(err) && !(err instanceof OutOfMemoryError) ? new OutOfMemoryError(during, err) : err;
  }
}

/** How a model was trained, as its manifest records it. */
export function trainingRecord(
  result: TrainResult,
  run: { options: object; dataset: string; trainImages: number; backend: Pick<BackendInfo, 'name' | 'package' | 'device' | 'reason' | 'adapter'> },
): ModelManifest['training'] {
  const { name, package: pkg, device, reason, adapter } = run.backend;
  return {
    options: { ...run.options, seed: result.seed },
    dataset: run.dataset,
    trainImages: run.trainImages,
    backend: { name, package: pkg, device, reason, ...(adapter ? { adapter } : {}) },
    stopReason: result.stopReason,
    iterations: result.iterations,
    epochs: result.epochs,
    trainingSeconds: result.trainingSeconds,
    finalizeSeconds: result.finalizeSeconds,
    seed: result.seed,
  };
}

function lineageOf(origin: { initialModel: InitialModelUse | null; resumedCount: number }, dataset: ResolvedDataset): ModelLineage {
  const parent = origin.initialModel;
  return {
    initialModel: parent ? { id: parent.id, ...(parent.name ? { name: parent.name } : {}) } : null,
    layersFromModel: parent?.layersFromModel ?? [],
    layersNotFromModel: parent?.layersNotFromModel ?? [],
    dataset: { id: dataset.id, name: dataset.name },
    resumedCount: origin.resumedCount,
  };
}

function normalizationOf(input: Layer): ModelManifest['normalization'] {
  if (input.type !== 'imageInput') throw new Error('the first layer must be imageInput');
  const [h, w, c] = input.outputSize;
  const offsetShape: Size3 | null = input.normalization === 'none' ? null : input.normalization === 'zerocenter' ? [h, w, c] : [1, 1, c];
  return { type: input.normalization, offsetShape };
}
