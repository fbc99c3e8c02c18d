import { readFileSync } from 'node:fs';
import { take, type Dataset } from '../../src/data/dataset.js';
import { loadDigits } from '../../src/data/digits.js';
import { InMemorySource } from '../../src/data/in-memory-source.js';
import { validateTrainingOptions, type TrainingOptions } from '../../src/nn/options.js';
import { validateNetwork, type Network } from '../../src/nn/spec.js';

export const seedNetworkJson = JSON.parse(readFileSync(new URL('../../examples/seed-elu.json', import.meta.url), 'utf8')) as {
  layers: Record<string, unknown>[];
};

/** Every layer type with most of their options (dilation, asymmetric padding, pooling, dropout, shared ELU alpha). */
export const everyLayerNetworkJson = {
  layers: [
    { type: 'imageInput', inputSize: [28, 28, 1], normalization: 'zscore' },
    { type: 'convolution2d', filterSize: 3, numFilters: 4, padding: 'same', weightsInitializer: 'he' },
    { type: 'batchNormalization' },
    { type: 'relu' },
    { type: 'convolution2d', filterSize: 3, numFilters: 4, dilationFactor: 2, padding: [1, 2, 0, 1], weightsInitializer: 'narrow-normal' },
    { type: 'leakyRelu', scale: 0.1 },
    { type: 'maxPooling2d', poolSize: 3, stride: 2, padding: [1, 1, 0, 1] },
    { type: 'elu', learnable: false, alpha: 0.5 },
    { type: 'averagePooling2d', poolSize: 2, padding: 'same' },
    { type: 'clippedRelu', ceiling: 6 },
    { type: 'convolution2d', filterSize: [2, 3], numFilters: 6, stride: [2, 1] },
    { type: 'tanh' },
    { type: 'globalAveragePooling2d' },
    { type: 'dropout', probability: 0.2 },
    { type: 'fullyConnected', outputSize: 12 },
    { type: 'elu', perChannel: false },
    { type: 'batchNormalization' },
    { type: 'fullyConnected', outputSize: 10 },
    { type: 'softmax' },
    { type: 'classification' },
  ],
};

/**
 * A graph of every merging layer, learnable ELU and custom layer included: additions of images and
 * of vectors, a depth concatenation, a concatenation along height, a layer feeding two others, and a
 * branch listed after the classification layer (so only connections feed it).
 */
export const graphNetworkJson = {
  layers: [
    { type: 'imageInput', inputSize: [28, 28, 1] },
    { type: 'convolution2d', name: 'conv_a', filterSize: 3, numFilters: 4, padding: 'same' },
    { type: 'elu', name: 'elu_a' },
    { type: 'convolution2d', name: 'conv_b', filterSize: 3, numFilters: 4, padding: 'same' },
    {
      type: 'custom',
      name: 'myElu',
      learnables: { alpha: { shape: 'perChannel', initializer: 'rand' } },
      forward: 'x > 0 ? x : alpha * (exp(min(x, 0)) - 1)',
    },
    { type: 'addition', name: 'add_1' },
    { type: 'depthConcatenation', name: 'depthcat_1' },
    { type: 'maxPooling2d', name: 'pool_a', poolSize: 2, stride: 2 },
    { type: 'concatenation', name: 'concat_1', dim: 1 },
    { type: 'fullyConnected', name: 'fc_1', outputSize: 10 },
    { type: 'addition', name: 'add_2' },
    { type: 'softmax' },
    { type: 'classification' },
    { type: 'maxPooling2d', name: 'pool_b', poolSize: 2, stride: 2 },
    { type: 'globalAveragePooling2d', name: 'gap' },
    { type: 'fullyConnected', name: 'fc_2', outputSize: 10 },
  ],
  connections: [
    { from: 'elu_a', to: 'add_1/in2' },
    { from: 'conv_b', to: 'depthcat_1/in2' },
    { from: 'depthcat_1', to: 'pool_b' },
    { from: 'pool_b', to: 'concat_1/in2' },
    { from: 'fc_2', to: 'add_2/in2' },
  ],
};

export function network(json: unknown = seedNetworkJson): Network {
  const result = validateNetwork(json);
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.value;
}

export function options(overrides: Record<string, unknown> = {}): TrainingOptions {
  const result = validateTrainingOptions(overrides);
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.value;
}

/** The first images of the digits' splits, and a dataset source over them (what train() reads). */
export async function digits(trainSize: number, testSize = 500): Promise<{ train: Dataset; test: Dataset; source: InMemorySource }> {
  const all = await loadDigits();
  const train = take(all.train, trainSize);
  const test = take(all.test, testSize);
  return { train, test, source: InMemorySource.of({ train, test }) };
}
