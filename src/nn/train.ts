import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { Augmenter } from './augmenter.js';
import type { TrainingCheckpoint } from './checkpoint.js';
import { buildLayers, buildModel, evaluate, type BuiltLayer } from './build.js';
import { Classifier, type Evaluation } from './classifier.js';
import type { DatasetDescription, DatasetSource } from './dataset-source.js';
import { TrainingDivergedError } from './diverged.js';
import { copyLayerWeights } from './initial-weights.js';
import { ImageInput } from './layers/image-input.js';
import { factorsFor, learnablesOf } from './learn-factors.js';
import { wholeDatasetBatchSize } from './memory.js';
import { normalizationStatistics } from './normalization.js';
import { isMemoryFault } from './out-of-memory.js';
import { Solver, type Learnable } from './optimizers.js';
import type { TrainingOptions } from './options.js';
import { ValidationError } from './problems.js';
import { Random, deriveSeed, freshSeed } from './random.js';
import { problemsWithData, type Network } from './spec.js';
import { isVerboseIteration } from './verbose.js';
import { yieldToEventLoop } from './yield.js';

/** One row of MATLAB's training-progress table; accuracies are fractions in [0, 1]. */
export interface ProgressRecord {
  epoch: number;
  iteration: number;
  /** Seconds since training started. */
  timeElapsed: number;
  miniBatchLoss: number;
  miniBatchAccuracy: number;
  baseLearnRate: number;
  /** Iterations the run will take unless stopped early (maxEpochs x iterations per epoch), for progress and time left. */
  totalIterations: number;
  /** A row of MATLAB's verbose table: iteration 1, every verboseFrequency iterations, and the last. */
  verbose: boolean;
  validationLoss?: number;
  validationAccuracy?: number;
}

export interface TrainData {
  /** Trained on its 'train' split; validated on the split options.validationData names. */
  source: DatasetSource;
  /** Used in error messages. */
  name?: string;
}

export interface TrainHooks {
  /** Called after every iteration; the caller decides how often to pass records on. */
  onProgress?: (record: ProgressRecord) => void | Promise<void>;
  /** Stops training within one iteration; the model is kept as it stands. */
  signal?: AbortSignal;
  /**
   * Least time between two reads of the loss and accuracy from the device (0: every iteration).
   * Between reads the iterations queue on a GPU without waiting; their records then go out
   * together, in order. Validation and the last iteration read at once.
   */
  readbackIntervalMs?: number;
  /**
   * Starts the named layers from this model's weights (initial-weights.ts matched them); the caller
   * keeps and disposes the model. A resume (resumeFrom) sets every weight after it.
   */
  initialWeights?: { model: tfl.LayersModel; layers: string[] };
  /** Goes on from this checkpoint (taken by a run of the same network, data and options) instead of from the start. */
  resumeFrom?: TrainingCheckpoint;
  /**
   * Given a checkpoint as options.checkpointFrequency says, and at least every checkpointIntervalMs
   * of training; the run waits for it (a checkpoint that cannot be kept fails the run). None without it.
   */
  onCheckpoint?: (checkpoint: TrainingCheckpoint) => Promise<void>;
  checkpointIntervalMs?: number;
  /** Whether a stop by the signal is to leave a checkpoint first (a worker handing its job back); asked when the stop is seen. */
  checkpointWhenStopped?: () => boolean;
}

export type StopReason = 'max-epochs' | 'aborted' | 'validation-patience';

export interface TrainResult {
  classifier: Classifier;
  stopReason: StopReason;
  iterations: number;
  iterationsPerEpoch: number;
  /** Epochs started (the last may be partial when stopped early). */
  epochs: number;
  /** The seed used: options.seed, or a fresh one when none was given. */
  seed: number;
  /** tfjs backend that trained it. */
  backend: string;
  /** Seconds spent in the iterations, and in computing batch-norm statistics afterwards. */
  trainingSeconds: number;
  finalizeSeconds: number;
  last: ProgressRecord | null;
  validation: Evaluation | null;
}

/**
 * Trains a validated network on a dataset, MATLAB-style: mini-batches of miniBatchSize with the
 * last partial one dropped, shuffled as options.shuffle says, the solver's update after every
 * batch. It yields to the event loop after every iteration (tfjs work is synchronous) so that a
 * caller's timers and sockets keep running. No tensor outlives it but the returned model's.
 */
export async function train(network: Network, data: TrainData, options: TrainingOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const { source } = data;
  const description = await source.describe();
  const problems = problemsWithData(network, description.size, description.classes.length, data.name ?? 'training');
  if (problems.length > 0) throw new ValidationError('the network does not fit the data', problems, 'Invalid training request');
  if (description.counts.train === 0) throw new Error('the training set is empty');

  const seed = hooks.resumeFrom?.seed ?? options.seed ?? freshSeed();
  const classes = network.classes ?? description.classes;
  const built = buildLayers(network, seed);
  const model = buildModel(network, built);
  const classifier = new Classifier(model, network, classes);
  const solver = new Solver(options);
  let faulted = false;
  try {
    await setNormalization(built, source);
    if (hooks.initialWeights) copyLayerWeights(model, hooks.initialWeights.model, hooks.initialWeights.layers);
    if (hooks.resumeFrom) restoreWeights(model, hooks.resumeFrom.weights);
    const loop = await runIterations(built, classifier, solver, source, description, options, seed, hooks);
    const finalizeStart = performance.now();
    // The signal (a time limit, a cancel) also stops the passes over the whole training set: a run stopped in them is 'aborted', like one stopped in an iteration.
    let stopReason = loop.stopReason;
    if (stopReason !== 'aborted' && options.batchNormalizationStatistics === 'population' && !(await setPopulationStatistics(built, source, hooks.signal))) stopReason = 'aborted';
    let validationResult: Evaluation | null = null;
    if (stopReason !== 'aborted' && options.validationData) {
      validationResult = await classifier.evaluate(source, options.validationData, hooks.signal);
      if (!validationResult) stopReason = 'aborted';
    }
    return {
      ...loop,
      stopReason,
      classifier,
      seed,
      backend: tf.getBackend(),
      finalizeSeconds: (performance.now() - finalizeStart) / 1000,
      validation: validationResult,
    };
  } catch (err) {
    faulted = isMemoryFault(err);
    // After a memory fault the heap is not touched again, not even to free: the process is recycled (out-of-memory.ts).
    if (!faulted) classifier.dispose();
    throw err;
  } finally {
    if (!faulted) solver.dispose();
  }
}

interface LoopResult {
  stopReason: StopReason;
  iterations: number;
  iterationsPerEpoch: number;
  epochs: number;
  trainingSeconds: number;
  last: ProgressRecord | null;
}

async function runIterations(
  built: BuiltLayer[],
  classifier: Classifier,
  solver: Solver,
  source: DatasetSource,
  description: DatasetDescription,
  options: TrainingOptions,
  seed: number,
  hooks: TrainHooks,
): Promise<LoopResult> {
  const [h, w, c] = description.size;
  const count = description.counts.train;
  const numClasses = classifier.classes.length;
  const batchSize = Math.min(options.miniBatchSize, count);
  const iterationsPerEpoch = Math.floor(count / batchSize);
  const shuffler = new Random(deriveSeed(seed, 1_000_001));
  const dropoutRng = new Random(deriveSeed(seed, 1_000_002));
  // Training batches only: statistics, validation and test passes read the images as stored.
  const augmenter = options.augmentation ? new Augmenter(options.augmentation, description.size, deriveSeed(seed, 1_000_003)) : null;
  const learnables = trainableLearnables(built);
  const varList = learnables.map((l) => l.variable);
  // 'never' reads the split in stored order (no order given); otherwise the same permutations, from the same seed, as always.
  const shuffled = () => source.shuffledOrder?.(shuffler, count) ?? shuffler.permutation(count);
  const resume = hooks.resumeFrom;
  let order = resume ? (resume.order ?? undefined) : options.shuffle === 'never' ? undefined : shuffled();
  if (resume) {
    shuffler.state = resume.random.shuffler;
    dropoutRng.state = resume.random.dropout;
    if (augmenter && resume.random.augmenter !== null) augmenter.randomState = resume.random.augmenter;
    solver.importState(learnables, resume.solver);
  }
  const firstEpoch = resume?.epoch ?? 1;

  const start = performance.now() - (resume?.trainingSeconds ?? 0) * 1000;
  let iteration = resume?.iteration ?? 0;
  let last: ProgressRecord | null = resume?.last ?? null;
  let bestValidationLoss = resume?.bestValidationLoss ?? Infinity;
  let validationsWithoutImprovement = resume?.validationsWithoutImprovement ?? 0;
  const totalIterations = options.maxEpochs * iterationsPerEpoch;
  const stop = (stopReason: StopReason, epochs: number): LoopResult => ({
    stopReason,
    iterations: iteration,
    iterationsPerEpoch,
    epochs,
    trainingSeconds: seconds(start),
    last,
  });

  const readbackIntervalMs = hooks.readbackIntervalMs ?? 0;
  let pending: { stats: tf.Tensor; epoch: number; iteration: number; timeElapsed: number; lr: number }[] = [];
  let lastRead = performance.now();
  /**
   * Reads the loss and correct count of the iterations run since the last read, in one
   * asynchronous read, and reports them in order; validates the last on validationSplit when
   * given (the weights are that iteration's). Returns why training must stop, or null.
   */
  const reportPending = async (validationSplit: TrainingOptions['validationData']): Promise<StopReason | null> => {
    if (pending.length === 0) return null;
    const batch = pending;
    pending = [];
    const both = tf.concat(batch.map((p) => p.stats));
    const values = await both.data();
    tf.dispose([both, ...batch.map((p) => p.stats)]);
    lastRead = performance.now();
    for (const [k, p] of batch.entries()) {
      const record: ProgressRecord = {
        epoch: p.epoch,
        iteration: p.iteration,
        timeElapsed: p.timeElapsed,
        miniBatchLoss: values[2 * k]!,
        miniBatchAccuracy: values[2 * k + 1]! / batchSize,
        baseLearnRate: p.lr,
        totalIterations,
        verbose: isVerboseIteration(p.iteration, options.verboseFrequency, totalIterations),
      };
      if (validationSplit && k === batch.length - 1) {
        const v = await classifier.evaluate(source, validationSplit, hooks.signal);
        // The signal stopped the validation: training stops without this iteration's record, as it did before reads were batched.
        if (!v) return 'aborted';
        record.validationLoss = v.loss;
        record.validationAccuracy = v.accuracy;
        if (v.loss < bestValidationLoss) {
          bestValidationLoss = v.loss;
          validationsWithoutImprovement = 0;
        } else {
          validationsWithoutImprovement++;
        }
      }
      last = record;
      await hooks.onProgress?.(record);
      if (!Number.isFinite(record.miniBatchLoss)) throw new TrainingDivergedError(record.iteration, record.epoch, record.miniBatchLoss);
      if (options.validationPatience !== null && validationsWithoutImprovement >= options.validationPatience) return 'validation-patience';
    }
    return null;
  };

  let lastCheckpoint = performance.now();
  /** Whether a checkpoint is due after this iteration, the `done`th of its epoch. */
  const checkpointDue = (done: number, epoch: number): boolean => {
    if (!hooks.onCheckpoint) return false;
    const every = options.checkpointFrequency;
    const due = options.checkpointFrequencyUnit === 'iteration' ? iteration % every === 0 : done === iterationsPerEpoch && epoch % every === 0;
    return due || performance.now() - lastCheckpoint >= (hooks.checkpointIntervalMs ?? Infinity);
  };
  const checkpoint = async (epoch: number, done: number): Promise<TrainingCheckpoint> => ({
    seed,
    iteration,
    epoch,
    iterationInEpoch: done,
    trainingSeconds: seconds(start),
    order: order ?? null,
    random: { shuffler: shuffler.state, dropout: dropoutRng.state, augmenter: augmenter?.randomState ?? null },
    bestValidationLoss: Number.isFinite(bestValidationLoss) ? bestValidationLoss : null,
    validationsWithoutImprovement,
    last,
    weights: await Promise.all(classifier.model.weights.map(async (w) => (await w.read().data()) as Float32Array)),
    solver: await solver.exportState(learnables),
  });

  for (let epoch = firstEpoch; epoch <= options.maxEpochs; epoch++) {
    if (options.shuffle === 'every-epoch' && epoch > firstEpoch) order = shuffled();
    const lr = learnRate(options, epoch);
    // A resumed epoch skips the iterations done before its checkpoint (in stored order too: the identity order).
    const skip = epoch === firstEpoch ? (resume?.iterationInEpoch ?? 0) : 0;
    const epochOrder = skip > 0 ? (order ?? identity(count)).subarray(skip * batchSize) : order;
    let done = skip;
    // Leaving the loop (a stop, an error) closes the stream, so the source lets go of what it holds.
    for await (const batch of source.batches('train', { batchSize, ...(epochOrder ? { order: epochOrder } : {}), dropLast: true })) {
      if (hooks.signal?.aborted) {
        await reportPending(null);
        // Between two iterations the state is whole: the next attempt goes on from here.
        if (hooks.onCheckpoint && iteration > 0 && hooks.checkpointWhenStopped?.()) await hooks.onCheckpoint(await checkpoint(epoch, done));
        return stop('aborted', epoch);
      }
      iteration++;
      done++;
      const stats = tf.tidy(() => {
        const x = tf.tensor4d(augmenter ? augmenter.apply(batch.images, batchSize) : batch.images, [batchSize, h, w, c]);
        const labels = tf.tensor1d(batch.labels, 'int32');
        let correct: tf.Tensor | null = null;
        const { value: loss, grads } = tf.variableGrads(() => {
          const logits = trainingLogits(built, x, dropoutRng);
          correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')));
          return crossEntropy(logits, labels, numClasses);
        }, varList);
        solver.step(learnables, new Map(varList.map((v) => [v, grads[v.name]!])), lr);
        const both = tf.stack([loss, correct!]);
        (correct as tf.Tensor | null)?.dispose();
        return both;
      });
      pending.push({ stats, epoch, iteration, timeElapsed: seconds(start), lr });
      const validate = options.validationData !== null && (iteration === 1 || iteration % options.validationFrequency === 0 || iteration === totalIterations);
      // A read waits for the device to finish, so it happens only when a record must go out now.
      if (validate || iteration === totalIterations || performance.now() - lastRead >= readbackIntervalMs) {
        const stopped = await reportPending(validate ? options.validationData : null);
        if (stopped) return stop(stopped, epoch);
      }
      if (checkpointDue(done, epoch)) {
        // The records so far go out first: a checkpoint's `last` is the run's last record.
        await reportPending(null);
        await hooks.onCheckpoint!(await checkpoint(epoch, done));
        lastCheckpoint = performance.now();
      }
      await yieldToEventLoop();
    }
  }
  return stop('max-epochs', options.maxEpochs);
}

function identity(count: number): Int32Array {
  return Int32Array.from({ length: count }, (_, k) => k);
}

/** Sets every weight of the model (batch-norm moving statistics and input normalisation included) from a checkpoint. */
function restoreWeights(model: Classifier['model'], weights: Float32Array[]): void {
  const variables = model.weights;
  if (variables.length !== weights.length) throw new Error(`the checkpoint holds ${weights.length} weights, the network ${variables.length}`);
  tf.tidy(() => variables.forEach((v, k) => v.write(tf.tensor(weights[k]!, v.shape as number[], 'float32'))));
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** MATLAB's 'piecewise' schedule drops the rate by learnRateDropFactor every learnRateDropPeriod epochs. */
export function learnRate(options: TrainingOptions, epoch: number): number {
  if (options.learnRateSchedule === 'none') return options.initialLearnRate;
  return options.initialLearnRate * options.learnRateDropFactor ** Math.floor((epoch - 1) / options.learnRateDropPeriod);
}

/** Mean softmax cross-entropy, computed from the logits (log-softmax) for stability. */
function crossEntropy(logits: tf.Tensor, labels: tf.Tensor1D, numClasses: number): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, numClasses), tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** Training-mode forward up to the softmax: batch statistics in batch norm, dropout on. */
function trainingLogits(built: BuiltLayer[], x: tf.Tensor, rng: Random): tf.Tensor {
  const softmax = built.find((b) => b.afterLogits)!;
  return evaluate<tf.Tensor, BuiltLayer>(built, x, (layer, inputs) => layer.trainForward(inputs, rng), softmax.spec.inputs[0]!);
}

/** Every trainable variable, with the factors its layer gives it (learn-factors.ts: MATLAB's defaults where none). */
function trainableLearnables(built: BuiltLayer[]): Learnable[] {
  return built.flatMap((b) => {
    const slots = learnablesOf(b.spec);
    return b.tfLayers.flatMap((layer) =>
      layer.trainableWeights.map((w) => {
        const slot = slots.find((s) => w.originalName.endsWith(`/${s.weight}`));
        const { learnRate, l2 } = slot ? factorsFor(b.spec, slot.name) : { learnRate: 1, l2: 1 };
        return { variable: w.read() as tf.Variable, l2Factor: l2, learnRateFactor: learnRate };
      }),
    );
  });
}

async function setNormalization(built: BuiltLayer[], source: DatasetSource): Promise<void> {
  const input = built[0]!.tfLayers[0];
  if (!(input instanceof ImageInput)) throw new Error('the first layer must be an ImageInput');
  const stats = await normalizationStatistics(input.normalization, source, 'train');
  if (!stats) return;
  tf.tidy(() => input.setStatistics(tf.tensor3d(stats.offset, stats.offsetShape), tf.tensor3d(stats.scale, [1, 1, stats.scale.length])));
}

/**
 * MATLAB's 'population' batch-norm statistics: after training, each batch-norm layer's mean and
 * variance over the whole training set (earlier layers in inference mode), summed in float64, in
 * batches of wholeDatasetBatchSize images (memory.ts counts them). False when the signal stopped
 * it; the layers not reached keep their moving statistics.
 */
async function setPopulationStatistics(built: BuiltLayer[], source: DatasetSource, signal?: AbortSignal): Promise<boolean> {
  const [h, w, c] = (await source.describe()).size;
  for (let k = 0; k < built.length; k++) {
    const { spec, tfLayers } = built[k]!;
    if (spec.type !== 'batchNormalization') continue;
    const bn = tfLayers.at(-1)!;
    const adapters = tfLayers.slice(0, -1);
    const channels = spec.inputSize[2];
    const sum = new Float64Array(channels);
    const sumSq = new Float64Array(channels);
    let values = 0;
    for await (const { images, count: n } of source.batches('train', { batchSize: wholeDatasetBatchSize })) {
      if (signal?.aborted) return false;
      const sums = tf.tidy(() => {
        const x = tf.tensor4d(images, [n, h, w, c]);
        const feeding = evaluate<tf.Tensor, BuiltLayer>(built, x, (layer, inputs) => layer.apply(inputs, { training: false }), spec.inputs[0]!);
        const input = adapters.reduce((t, layer) => layer.apply(t) as tf.Tensor, feeding);
        const flat = tf.reshape(input, [-1, channels]);
        return tf.stack([tf.sum(flat, 0), tf.sum(tf.square(flat), 0)]);
      });
      const data = await sums.data();
      sums.dispose();
      for (let ch = 0; ch < channels; ch++) {
        sum[ch]! += data[ch]!;
        sumSq[ch]! += data[channels + ch]!;
      }
      values += n * spec.inputSize[0] * spec.inputSize[1];
      await yieldToEventLoop();
    }
    const mean = Float32Array.from(sum, (s) => s / values);
    const variance = Float32Array.from(sumSq, (s, ch) => Math.max(0, s / values - mean[ch]! * mean[ch]!));
    const weight = (suffix: string) => bn.weights.find((v) => v.originalName.endsWith(suffix))!;
    tf.tidy(() => {
      weight('moving_mean').write(tf.tensor1d(mean));
      weight('moving_variance').write(tf.tensor1d(variance));
    });
  }
  return true;
}
