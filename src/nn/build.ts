import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildCustomLayer } from './custom/layer.js';
import { Elu } from './layers/elu.js';
import { ImageInput } from './layers/image-input.js';
import { Pad2D } from './layers/pad2d.js';
import { conv2dWithBias } from './ops/conv.js';
import { batchNormalizationTraining, denseTraining } from './ops/layer-forwards.js';
import { deriveSeed, type Random } from './random.js';
import type { BiasInitializer, Layer, LayerOf, Network, Padding4, Size3, WeightsInitializer } from './spec.js';

/**
 * Turns a validated network into tfjs layers. Each network layer becomes one or more tfjs layers
 * (a Flatten before a fully connected layer on an image, a padding layer where tfjs has no such
 * padding mode), plus, where training needs more than `apply(x, {training: true})`, its own
 * training-mode forward.
 */
export interface BuiltLayer {
  spec: Layer;
  tfLayers: tfl.layers.Layer[];
  /** Training-mode forward, when the tfjs layers' own is not enough. */
  trainForward?: (x: tf.Tensor, rng: Random) => tf.Tensor;
}

export function buildLayers(network: Network, seed: number): BuiltLayer[] {
  let flat = false;
  return network.layers.map((spec, index) => {
    const layerSeed = (k: number) => deriveSeed(seed, index * 8 + k);
    const tfLayers: tfl.layers.Layer[] = [];
    const spatial = spec.type === 'convolution2d' || spec.type === 'maxPooling2d' || spec.type === 'averagePooling2d' || spec.type === 'globalAveragePooling2d';
    if (spatial && flat) {
      tfLayers.push(tfl.layers.reshape({ targetShape: spec.inputSize, name: `${spec.name}_reshape` }));
      flat = false;
    }
    if (spec.type === 'fullyConnected' && !flat) {
      tfLayers.push(tfl.layers.flatten({ name: `${spec.name}_flatten` }));
      flat = true;
    }
    if (spec.type === 'globalAveragePooling2d') flat = true;
    return buildOne(spec, tfLayers, layerSeed);
  });
}

function buildOne(spec: Layer, tfLayers: tfl.layers.Layer[], seed: (k: number) => number): BuiltLayer {
  const name = spec.name;
  switch (spec.type) {
    case 'imageInput':
      tfLayers.push(new ImageInput({ name, inputSize: spec.outputSize, normalization: spec.normalization }));
      return { spec, tfLayers };
    case 'convolution2d':
      return buildConvolution(spec, tfLayers, seed);
    case 'batchNormalization': {
      const momentum = 0.9;
      const bn = tfl.layers.batchNormalization({ name, epsilon: spec.epsilon, axis: -1, momentum });
      tfLayers.push(bn);
      return { spec, tfLayers, trainForward: batchNormalizationTraining(bn, spec.epsilon, momentum) };
    }
    case 'elu':
      tfLayers.push(
        new Elu({ name, alpha: spec.alpha, learnable: spec.learnable, perChannel: spec.perChannel, alphaInitializer: spec.alphaInitializer, seed: seed(0) }),
      );
      return { spec, tfLayers };
    case 'relu':
      tfLayers.push(tfl.layers.reLU({ name }));
      return { spec, tfLayers };
    case 'leakyRelu':
      tfLayers.push(tfl.layers.leakyReLU({ name, alpha: spec.scale }));
      return { spec, tfLayers };
    case 'clippedRelu':
      tfLayers.push(tfl.layers.reLU({ name, maxValue: spec.ceiling }));
      return { spec, tfLayers };
    case 'tanh':
      tfLayers.push(tfl.layers.activation({ name, activation: 'tanh' }));
      return { spec, tfLayers };
    case 'maxPooling2d':
    case 'averagePooling2d':
      return buildPooling(spec, tfLayers);
    case 'globalAveragePooling2d':
      tfLayers.push(tfl.layers.globalAveragePooling2d({ name }));
      return { spec, tfLayers };
    case 'fullyConnected': {
      const dense = tfl.layers.dense({
        name,
        units: spec.outputSize[2],
        kernelInitializer: weightsInitializer(spec.weightsInitializer, seed(0)),
        biasInitializer: biasInitializer(spec.biasInitializer, seed(1)),
      });
      const flatten = [...tfLayers];
      tfLayers.push(dense);
      const forward = denseTraining(dense);
      return { spec, tfLayers, trainForward: (x) => forward(flatten.reduce((h, layer) => layer.apply(h) as tf.Tensor, x)) };
    }
    case 'dropout': {
      const rate = spec.probability;
      tfLayers.push(tfl.layers.dropout({ name, rate }));
      // A seeded tfjs Dropout draws the same mask every step; draw a fresh, reproducible one instead.
      return { spec, tfLayers, trainForward: (x, rng) => (rate > 0 ? tf.dropout(x, rate, undefined, rng.nextUint32()) : x) };
    }
    case 'softmax':
      tfLayers.push(tfl.layers.softmax({ name }));
      return { spec, tfLayers };
    case 'classification':
      return { spec, tfLayers };
    case 'custom':
      return buildCustomLayer(spec, tfLayers, seed);
  }
}

/** TF's 'same' padding for this window, input and stride, or null when `padding` is not it. */
function tfPaddingMode(padding: Padding4, input: Size3, window: [number, number], stride: [number, number]): 'valid' | 'same' | null {
  if (padding.every((p) => p === 0)) return 'valid';
  const same = (i: 0 | 1): [number, number] => {
    const total = Math.max(0, (Math.ceil(input[i] / stride[i]) - 1) * stride[i] + window[i] - input[i]);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [t, b] = same(0);
  const [l, r] = same(1);
  return padding[0] === t && padding[1] === b && padding[2] === l && padding[3] === r ? 'same' : null;
}

function buildConvolution(spec: LayerOf<'convolution2d'>, tfLayers: tfl.layers.Layer[], seed: (k: number) => number): BuiltLayer {
  const effective: [number, number] = [
    (spec.filterSize[0] - 1) * spec.dilationFactor[0] + 1,
    (spec.filterSize[1] - 1) * spec.dilationFactor[1] + 1,
  ];
  let mode = tfPaddingMode(spec.padding, spec.inputSize, effective, spec.stride);
  if (mode === null) {
    const [t, b, l, r] = spec.padding;
    tfLayers.push(tfl.layers.zeroPadding2d({ name: `${spec.name}_pad`, padding: [[t, b], [l, r]] }));
    mode = 'valid';
  }
  const padding = mode;
  const conv = tfl.layers.conv2d({
    name: spec.name,
    filters: spec.numFilters,
    kernelSize: spec.filterSize,
    strides: spec.stride,
    padding,
    dilationRate: spec.dilationFactor,
    kernelInitializer: weightsInitializer(spec.weightsInitializer, seed(0)),
    biasInitializer: biasInitializer(spec.biasInitializer, seed(1)),
  });
  tfLayers.push(conv);
  const before = tfLayers.slice(0, -1);
  return {
    spec,
    tfLayers,
    trainForward: (x) => {
      const padded = before.reduce((h, layer) => layer.apply(h) as tf.Tensor, x) as tf.Tensor4D;
      const [kernel, bias] = conv.trainableWeights.map((w) => w.read());
      return conv2dWithBias(padded, kernel as tf.Tensor4D, bias as tf.Tensor1D, spec.stride, padding, spec.dilationFactor);
    },
  };
}

function buildPooling(spec: LayerOf<'maxPooling2d' | 'averagePooling2d'>, tfLayers: tfl.layers.Layer[]): BuiltLayer {
  const max = spec.type === 'maxPooling2d';
  let mode = tfPaddingMode(spec.padding, spec.inputSize, spec.poolSize, spec.stride);
  // TF's 'same' average excludes the padding from the count; MATLAB counts padding as zeros.
  if (mode === null || (mode === 'same' && !max)) {
    tfLayers.push(new Pad2D({ name: `${spec.name}_pad`, padding: spec.padding, value: max ? Pad2D.lowest : 0 }));
    mode = 'valid';
  }
  const args = { name: spec.name, poolSize: spec.poolSize, strides: spec.stride, padding: mode };
  tfLayers.push(max ? tfl.layers.maxPooling2d(args) : tfl.layers.averagePooling2d(args));
  return { spec, tfLayers };
}

function weightsInitializer(kind: WeightsInitializer, seed: number) {
  switch (kind) {
    case 'glorot':
      return tfl.initializers.glorotUniform({ seed });
    case 'he':
      return tfl.initializers.heNormal({ seed });
    case 'narrow-normal':
      return tfl.initializers.randomNormal({ mean: 0, stddev: 0.01, seed });
  }
}

function biasInitializer(kind: BiasInitializer, seed: number) {
  switch (kind) {
    case 'zeros':
      return tfl.initializers.zeros();
    case 'ones':
      return tfl.initializers.ones();
    case 'narrow-normal':
      return tfl.initializers.randomNormal({ mean: 0, stddev: 0.01, seed });
  }
}
