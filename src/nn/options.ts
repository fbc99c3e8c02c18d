import { readAugmentation, type AugmentationOptions } from './augmentation-options.js';
import { Fields } from './fields.js';
import { describe, isPlainObject, type Problem, type Validated } from './problems.js';

/**
 * Training options with MATLAB's `trainingOptions` names and defaults. Quantities MATLAB sets to
 * Inf (gradientThreshold, validationPatience) are null here, since JSON has no Infinity.
 */
export interface TrainingOptions {
  solver: 'sgdm' | 'adam' | 'rmsprop';
  /** 0.01 for sgdm, 0.001 for adam and rmsprop. */
  initialLearnRate: number;
  /** sgdm only. */
  momentum: number;
  /** adam only (beta1). */
  gradientDecayFactor: number;
  /** adam (beta2, 0.999) and rmsprop (0.9). */
  squaredGradientDecayFactor: number;
  /** adam and rmsprop. */
  epsilon: number;
  l2Regularization: number;
  maxEpochs: number;
  miniBatchSize: number;
  shuffle: 'once' | 'every-epoch' | 'never';
  learnRateSchedule: 'none' | 'piecewise';
  learnRateDropFactor: number;
  learnRateDropPeriod: number;
  gradientThreshold: number | null;
  gradientThresholdMethod: 'l2norm' | 'global-l2norm';
  /** Which held-out split to validate on; the caller resolves the name to data. */
  validationData: 'test' | null;
  validationFrequency: number;
  validationPatience: number | null;
  verboseFrequency: number;
  /** 'population' (MATLAB's default): batch-norm statistics over the whole training set after training. */
  batchNormalizationStatistics: 'population' | 'moving';
  /** Seed for shuffling and initial weights; a run given none gets one, reported with its result. */
  seed: number | null;
  /**
   * MATLAB's CheckpointFrequency in checkpointFrequencyUnit: how often the worker saves a
   * checkpoint a job resumes from after its worker died (and at least every CHECKPOINT_MAX_MINUTES).
   */
  checkpointFrequency: number;
  checkpointFrequencyUnit: 'epoch' | 'iteration';
  /** imageDataAugmenter's random transforms of the training images, per mini-batch; null: none (the default). */
  augmentation: AugmentationOptions | null;
}

export interface OptionLimits {
  maxEpochs: number;
  maxMiniBatchSize: number;
}

export const defaultOptionLimits: OptionLimits = { maxEpochs: 1000, maxMiniBatchSize: 4096 };

const solvers = ['sgdm', 'adam', 'rmsprop'] as const;

export function validateTrainingOptions(input: unknown, limits: OptionLimits = defaultOptionLimits): Validated<TrainingOptions> {
  const problems: Problem[] = [];
  if (input === undefined || input === null) input = {};
  if (!isPlainObject(input)) {
    return { ok: false, problems: [{ path: 'options', message: `options must be an object, not ${describe(input)}` }] };
  }
  const f = new Fields(input, 'options', 'options', problems);
  const solver = f.oneOf('solver', solvers, 'sgdm');
  const adaptive = solver === 'adam' || solver === 'rmsprop';
  const options = {
    solver,
    initialLearnRate: f.number('initialLearnRate', { default: adaptive ? 0.001 : 0.01, min: 0, exclusiveMin: true }),
    momentum: f.number('momentum', { default: 0.9, min: 0, max: 1, exclusiveMax: true }),
    gradientDecayFactor: f.number('gradientDecayFactor', { default: 0.9, min: 0, max: 1, exclusiveMax: true }),
    squaredGradientDecayFactor: f.number('squaredGradientDecayFactor', {
      default: solver === 'rmsprop' ? 0.9 : 0.999,
      min: 0,
      max: 1,
      exclusiveMax: true,
    }),
    epsilon: f.number('epsilon', { default: 1e-8, min: 0, exclusiveMin: true }),
    l2Regularization: f.number('l2Regularization', { default: 1e-4, min: 0 }),
    maxEpochs: f.int('maxEpochs', { default: 30, max: limits.maxEpochs }),
    miniBatchSize: f.int('miniBatchSize', { default: 128, max: limits.maxMiniBatchSize }),
    shuffle: f.oneOf('shuffle', ['once', 'every-epoch', 'never'] as const, 'once'),
    learnRateSchedule: f.oneOf('learnRateSchedule', ['none', 'piecewise'] as const, 'none'),
    learnRateDropFactor: f.number('learnRateDropFactor', { default: 0.1, min: 0, max: 1 }),
    learnRateDropPeriod: f.int('learnRateDropPeriod', { default: 10 }),
    gradientThreshold: f.limit('gradientThreshold'),
    gradientThresholdMethod: f.oneOf('gradientThresholdMethod', ['l2norm', 'global-l2norm'] as const, 'l2norm'),
    validationData: readValidationData(f),
    validationFrequency: f.int('validationFrequency', { default: 50 }),
    validationPatience: f.limit('validationPatience', { integer: true }),
    verboseFrequency: f.int('verboseFrequency', { default: 50 }),
    batchNormalizationStatistics: f.oneOf('batchNormalizationStatistics', ['population', 'moving'] as const, 'population'),
    seed: f.optionalInt('seed', { min: 0, max: 2 ** 32 - 1 }),
    checkpointFrequency: f.int('checkpointFrequency', { default: 1 }),
    checkpointFrequencyUnit: f.oneOf('checkpointFrequencyUnit', ['epoch', 'iteration'] as const, 'epoch'),
    augmentation: readAugmentation(f.raw('augmentation'), 'options.augmentation', problems),
  };
  f.rejectUnknown();
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, value: options as TrainingOptions };
}

function readValidationData(f: Fields): 'test' | null | undefined {
  const v = f.raw('validationData');
  if (v === undefined || v === null || v === 'none') return null;
  if (v === 'test') return 'test';
  f.problem('validationData', `validationData must be "test" (the dataset's held-out split) or null, not ${describe(v)}`);
  return undefined;
}
