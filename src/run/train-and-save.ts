import type { Config } from '../config.js';
import { take } from '../data/dataset.js';
import { imageStatistics } from '../data/image-statistics.js';
import type { DatasetSplits } from '../data/catalog.js';
import type { BackendInfo } from '../nn/backend.js';
import { ensureCustomLayersPass } from '../nn/custom/check.js';
import { validateTrainingOptions } from '../nn/options.js';
import { ValidationError } from '../nn/problems.js';
import { problemsWithData, validateNetwork, type Layer, type Size3 } from '../nn/spec.js';
import { train, type TrainHooks, type TrainResult } from '../nn/train.js';
import { writeModelFolder, type ModelManifest } from '../store/models.js';

export interface TrainingRequest {
  /** The network as submitted (validated here). */
  network: unknown;
  options?: unknown;
  /** Train on the first N training images only. */
  trainSize?: number;
}

export interface TrainedAndSaved {
  result: TrainResult;
  /** Null when training was aborted and the target did not ask to keep a partial model. */
  manifest: ModelManifest | null;
}

/**
 * One whole training run, as the command line and the worker both do it: validate the network and
 * options, check its custom layers, train on the dataset, measure test accuracy, write the model
 * folder. The classifier is disposed before returning; what remains is on disk.
 */
export async function trainAndSave(
  config: Config,
  backend: BackendInfo,
  data: DatasetSplits,
  request: TrainingRequest,
  target: { id: string; folder: string; jobId?: string; tenant?: string; keepAborted?: boolean | (() => boolean) },
  hooks: TrainHooks = {},
): Promise<TrainedAndSaved> {
  const network = validateNetwork(request.network, config.networkLimits);
  const options = validateTrainingOptions(request.options, config.optionLimits);
  const problems = [...(network.ok ? [] : network.problems), ...(options.ok ? [] : options.problems)];
  if (network.ok) problems.push(...problemsWithData(network.value, data.train.size, data.train.classes.length, data.name));
  if (!network.ok || !options.ok || problems.length > 0) throw new ValidationError('invalid training request', problems);
  // Like MATLAB's checkLayer, but before every run: a custom layer that fails its check never trains (CustomLayerCheckError).
  await ensureCustomLayersPass(network.value);

  const trainSet = request.trainSize ? take(data.train, request.trainSize) : data.train;
  const validation = options.value.validationData === 'test' ? data.test : undefined;
  const result = await train(network.value, { train: trainSet, validation, name: data.name }, options.value, hooks);
  try {
    const aborted = result.stopReason === 'aborted';
    const keep = typeof target.keepAborted === 'function' ? target.keepAborted() : target.keepAborted;
    if (aborted && !keep) return { result, manifest: null };
    const test = aborted ? null : await result.classifier.evaluate(data.test);
    const manifest: Omit<ModelManifest, 'files'> = {
      formatVersion: 1,
      id: target.id,
      createdAt: new Date().toISOString(),
      network: request.network,
      classes: result.classifier.classes,
      inputSize: network.value.inputSize,
      normalization: normalizationOf(network.value.layers[0]!),
      inputStatistics: imageStatistics(trainSet.images, trainSet.count, trainSet.size),
      training: trainingRecord(result, { options: options.value, dataset: data.name, trainImages: trainSet.count, backend }),
      metrics: {
        miniBatchLoss: result.last?.miniBatchLoss ?? null,
        miniBatchAccuracy: result.last?.miniBatchAccuracy ?? null,
        ...(result.validation ? { validationLoss: result.validation.loss, validationAccuracy: result.validation.accuracy } : {}),
        ...(test ? { testAccuracy: test.accuracy, testLoss: test.loss } : {}),
      },
      ...(target.jobId ? { jobId: target.jobId } : {}),
      ...(target.tenant ? { tenant: target.tenant } : {}),
    };
    return { result, manifest: await writeModelFolder(target.folder, result.classifier, manifest) };
  } finally {
    result.classifier.dispose();
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

function normalizationOf(input: Layer): ModelManifest['normalization'] {
  if (input.type !== 'imageInput') throw new Error('the first layer must be imageInput');
  const [h, w, c] = input.outputSize;
  const offsetShape: Size3 | null = input.normalization === 'none' ? null : input.normalization === 'zerocenter' ? [h, w, c] : [1, 1, c];
  return { type: input.normalization, offsetShape };
}
