import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../data/dataset.js';
import { buildLayers, type BuiltLayer } from './build.js';
import { Classifier, type Evaluation } from './classifier.js';
import { ImageInput } from './layers/image-input.js';
import { normalizationStatistics } from './normalization.js';
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
  train: Dataset;
  /** Held-out data for options.validationData; the caller resolves it. */
  validation?: Dataset;
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
  const { train: trainSet, validation } = data;
  const problems = problemsWithData(network, trainSet.size, trainSet.classes.length, data.name ?? 'training');
  if (problems.length > 0) throw new ValidationError('the network does not fit the data', problems);
  if (options.validationData && !validation) throw new Error('options.validationData is set but no validation data was given');
  if (trainSet.count === 0) throw new Error('the training set is empty');

  const seed = options.seed ?? freshSeed();
  const classes = network.classes ?? trainSet.classes;
  const built = buildLayers(network, seed);
  const model = tfl.sequential({ name: 'trainyard', layers: built.flatMap((b) => b.tfLayers) });
  const classifier = new Classifier(model, network, classes);
  const solver = new Solver(options);
  try {
    setNormalization(built, trainSet);
    const loop = await runIterations(built, classifier, solver, data, options, seed, hooks);
    const finalizeStart = performance.now();
    const aborted = loop.stopReason === 'aborted';
    if (!aborted && options.batchNormalizationStatistics === 'population') await setPopulationStatistics(built, trainSet);
    const validationResult = !aborted && validation && options.validationData ? await classifier.evaluate(validation) : null;
    return {
      ...loop,
      classifier,
      seed,
      backend: tf.getBackend(),
      finalizeSeconds: (performance.now() - finalizeStart) / 1000,
      validation: validationResult,
    };
  } catch (err) {
    classifier.dispose();
    throw err;
  } finally {
    solver.dispose();
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
  data: TrainData,
  options: TrainingOptions,
  seed: number,
  hooks: TrainHooks,
): Promise<LoopResult> {
  const set = data.train;
  const [h, w, c] = set.size;
  const per = h * w * c;
  const numClasses = classifier.classes.length;
  const batchSize = Math.min(options.miniBatchSize, set.count);
  const iterationsPerEpoch = Math.floor(set.count / batchSize);
  const shuffler = new Random(deriveSeed(seed, 1_000_001));
  const dropoutRng = new Random(deriveSeed(seed, 1_000_002));
  const learnables = learnablesOf(built);
  const varList = learnables.map((l) => l.variable);
  const xs = new Float32Array(batchSize * per);
  const ys = new Int32Array(batchSize);
  let order = options.shuffle === 'never' ? Int32Array.from({ length: set.count }, (_, i) => i) : shuffler.permutation(set.count);

  const start = performance.now();
  let iteration = 0;
  let last: ProgressRecord | null = null;
  let bestValidationLoss = Infinity;
  let validationsWithoutImprovement = 0;
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
   * asynchronous read, and reports them in order; validates after the last when asked (the
   * weights are that iteration's). Returns why training must stop, or null.
   */
  const reportPending = async (validateLast: boolean): Promise<StopReason | null> => {
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
      if (validateLast && k === batch.length - 1) {
        const v = await classifier.evaluate(data.validation!);
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
      if (options.validationPatience !== null && validationsWithoutImprovement >= options.validationPatience) return 'validation-patience';
    }
    return null;
  };

  for (let epoch = 1; epoch <= options.maxEpochs; epoch++) {
    if (options.shuffle === 'every-epoch' && epoch > 1) order = shuffler.permutation(set.count);
    const lr = learnRate(options, epoch);
    for (let b = 0; b < iterationsPerEpoch; b++) {
      if (hooks.signal?.aborted) {
        await reportPending(false);
        return stop('aborted', epoch);
      }
      iteration++;
      for (let i = 0; i < batchSize; i++) {
        const k = order[b * batchSize + i]!;
        xs.set(set.images.subarray(k * per, (k + 1) * per), i * per);
        ys[i] = set.labels[k]!;
      }
      const stats = tf.tidy(() => {
        const x = tf.tensor4d(xs, [batchSize, h, w, c]);
        const labels = tf.tensor1d(ys, 'int32');
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
      const validate = data.validation && options.validationData && (iteration === 1 || iteration % options.validationFrequency === 0 || iteration === totalIterations);
      // A read waits for the device to finish, so it happens only when a record must go out now.
      if (validate || iteration === totalIterations || performance.now() - lastRead >= readbackIntervalMs) {
        const stopped = await reportPending(validate === true);
        if (stopped) return stop(stopped, epoch);
      }
      await yieldToEventLoop();
    }
  }
  return stop('max-epochs', options.maxEpochs);
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
  let h = x;
  for (const layer of built) {
    if (layer.spec.type === 'softmax' || layer.spec.type === 'classification') break;
    h = layer.trainForward
      ? layer.trainForward(h, rng)
      : layer.tfLayers.reduce((t, l) => l.apply(t, { training: true }) as tf.Tensor, h);
  }
  return h;
}

function inferenceForward(built: BuiltLayer[], x: tf.Tensor): tf.Tensor {
  return built.flatMap((b) => b.tfLayers).reduce((t, l) => l.apply(t, { training: false }) as tf.Tensor, x);
}

/** Every trainable variable, with MATLAB's default L2 factor: 0 for biases, 1 for everything else. */
function learnablesOf(built: BuiltLayer[]): Learnable[] {
  return built.flatMap((b) =>
    b.tfLayers.flatMap((layer) =>
      layer.trainableWeights.map((w) => ({ variable: w.read() as tf.Variable, l2Factor: w.originalName.endsWith('/bias') ? 0 : 1 })),
    ),
  );
}

function setNormalization(built: BuiltLayer[], set: Dataset): void {
  const input = built[0]!.tfLayers[0];
  if (!(input instanceof ImageInput)) throw new Error('the first layer must be an ImageInput');
  const stats = normalizationStatistics(input.normalization, set);
  if (!stats) return;
  tf.tidy(() => input.setStatistics(tf.tensor3d(stats.offset, stats.offsetShape), tf.tensor3d(stats.scale, [1, 1, stats.scale.length])));
}

/**
 * MATLAB's 'population' batch-norm statistics: after training, each batch-norm layer's mean and
 * variance over the whole training set (earlier layers in inference mode), summed in float64.
 */
async function setPopulationStatistics(built: BuiltLayer[], set: Dataset, batchSize = 500): Promise<void> {
  const [h, w, c] = set.size;
  const per = h * w * c;
  for (let k = 0; k < built.length; k++) {
    const { spec, tfLayers } = built[k]!;
    if (spec.type !== 'batchNormalization') continue;
    const bn = tfLayers.at(-1)!;
    const before = built.slice(0, k).concat({ spec, tfLayers: tfLayers.slice(0, -1) });
    const channels = spec.inputSize[2];
    const sum = new Float64Array(channels);
    const sumSq = new Float64Array(channels);
    let values = 0;
    for (let startAt = 0; startAt < set.count; startAt += batchSize) {
      const n = Math.min(batchSize, set.count - startAt);
      const sums = tf.tidy(() => {
        const x = tf.tensor4d(set.images.subarray(startAt * per, (startAt + n) * per), [n, h, w, c]);
        const input = inferenceForward(before, x);
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
}
