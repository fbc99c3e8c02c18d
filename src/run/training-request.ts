/**
 * @module The engine's request validator: the one check of a training request (network, options,
 * the dataset's shape, and at admission the memory it needs), run by the API before queueing and
 * once by whoever trains it (the worker's job handler, the command line), which then pass the
 * validated value on.
 */
import type { Config } from '../config.js';
import type { ResolvedDataset } from '../data/dataset-catalogue.js';
import { memoryCeilingFor } from '../nn/backend.js';
import type { DatasetDescription } from '../nn/dataset-source.js';
import { estimateTrainingMemory, formatBytes, trainingMemoryLimit, type MemoryEstimate } from '../nn/memory.js';
import { validateTrainingOptions, type TrainingOptions } from '../nn/options.js';
import { ValidationError, type Problem, type Validated } from '../nn/problems.js';
import { problemsWithData, validateNetwork, type Network, type Size3 } from '../nn/spec.js';
import { startModuleThread } from '../nn/thread.js';

/** A request that passed validateTrainingRequest. */
export interface ValidTrainingRequest {
  /** The network as submitted, as the model's manifest keeps it. */
  source: unknown;
  network: Network;
  options: TrainingOptions;
}

/** The configuration validation reads. */
export type ValidationConfig = Pick<Config, 'networkLimits' | 'optionLimits' | 'limits' | 'backend'>;

/** The shape of the dataset a request trains on, as validation needs it. */
export interface DataShape {
  name: string;
  size: Size3;
  classes: number;
}

/**
 * Every problem with a request's network and options, with paths from the request's root
 * (`network.layers[2]`, `options.miniBatchSize`); with a dataset, also whether the network fits its
 * images and classes.
 */
export function validateTrainingRequest(
  request: { network: unknown; options?: unknown },
  data: DataShape | null,
  config: ValidationConfig,
): Validated<ValidTrainingRequest> {
  return validate(request, data, config, true);
}

/**
 * The checks, with or without admission's memory estimate. The estimate is the API's admission
 * policy, answered before queueing; whoever trains an admitted request does not refuse it again
 * on an estimate (it may have been admitted under another configuration), and a run that still
 * overflows fails with the out-of-memory sentence and recycles its process (out-of-memory.ts).
 */
function validate(
  request: { network: unknown; options?: unknown },
  data: DataShape | null,
  config: Pick<Config, 'networkLimits' | 'optionLimits' | 'limits' | 'backend'>,
  admission: boolean,
): Validated<ValidTrainingRequest> {
  const problems: Problem[] = [];
  const network = validateNetwork(request.network, config.networkLimits);
  const prefixed = (p: Problem) => ({ path: p.path ? `network.${p.path}` : 'network', message: p.message });
  if (!network.ok) problems.push(...network.problems.map(prefixed));
  const options = validateTrainingOptions(request.options, config.optionLimits);
  if (!options.ok) problems.push(...options.problems);
  if (network.ok && data) problems.push(...problemsWithData(network.value, data.size, data.classes, data.name).map(prefixed));
  if (admission && network.ok && options.ok) {
    const memory = estimateTrainingMemory(network.value, options.value);
    const ceiling = memoryCeilingFor(config.backend);
    const limit = trainingMemoryLimit(config.limits.trainingMemoryBytes, ceiling);
    if (memory.bytes > limit) problems.push(memoryProblem(memory, options.value.miniBatchSize, limit, ceiling));
  }
  if (!network.ok || !options.ok || problems.length > 0) return { ok: false, problems };
  return { ok: true, value: { source: request.network, network: network.value, options: options.value } };
}

export interface TrainingRequestThreadInput {
  request: { network: unknown; options?: unknown };
  data: DataShape | null;
  config: ValidationConfig;
}

/**
 * validateTrainingRequest's problems (none: valid), worked out in a worker thread of its own: a
 * network of hundreds of custom layers takes a few hundred ms to check (tokenizing every
 * expression, estimating its memory), which the API's event loop must not spend (issue 10).
 */
export function trainingRequestProblemsInThread(request: { network: unknown; options?: unknown }, data: DataShape | null, config: ValidationConfig): Promise<Problem[]> {
  const { networkLimits, optionLimits, limits, backend } = config;
  const input: TrainingRequestThreadInput = { request: { network: request.network, options: request.options }, data, config: { networkLimits, optionLimits, limits, backend } };
  const thread = startModuleThread(import.meta.url, 'training-request-thread', input);
  return new Promise<Problem[]>((resolve, reject) => {
    thread.once('message', (problems: Problem[]) => {
      resolve(problems);
      void thread.terminate();
    });
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`the validation thread exited with code ${code} before it answered`)));
  });
}

/** The shape validation needs, from the dataset's description. */
export function dataShape(name: string, { size, classes }: DatasetDescription): DataShape {
  return { name, size, classes: classes.length };
}

/** validateTrainingRequest, less the admission estimate, for a caller about to train on `dataset`: the valid request, or a ValidationError with every problem. */
export async function requireValidTrainingRequest(
  request: { network: unknown; options?: unknown },
  dataset: ResolvedDataset,
  config: ValidationConfig,
): Promise<ValidTrainingRequest> {
  const validated = validate(request, dataShape(dataset.name, await dataset.source.describe()), config, false);
  if (!validated.ok) throw new ValidationError('invalid training request', validated.problems, 'Invalid training request');
  return validated.value;
}

/** A job too big to train, named by the layer that needs the most. */
function memoryProblem(memory: MemoryEstimate, miniBatchSize: number, limit: number, heapCeiling: number | null): Problem {
  const { index, name, bytes } = memory.largest;
  return {
    path: `network.layers[${index}]`,
    message:
      `training this network needs about ${formatBytes(memory.bytes)} (activations ${formatBytes(memory.activationBytes)} for mini-batches of ` +
      `${miniBatchSize}, learnables with gradients and solver state ${formatBytes(memory.learnableBytes)}), more than the ${formatBytes(limit)} a worker has ` +
      `(MAX_TRAINING_MEMORY_BYTES${heapCeiling === null ? '' : `, and the backend's ${formatBytes(heapCeiling)} heap`}); layer '${name}' needs the most, ${formatBytes(bytes)}: make it smaller or the mini-batch smaller`,
  };
}
