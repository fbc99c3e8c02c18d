import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLayers, type BuiltLayer } from '../../../src/nn/build.js';
import { Random } from '../../../src/nn/random.js';
import { layerTypes, validateNetwork, type LayerType } from '../../../src/nn/spec.js';
import { randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';

/**
 * Each layer type's training forward (build.ts's trainForward: the fused and fast ops training runs)
 * computes what its tfjs layers' own `apply(x, {training: true})` computes, side effects included.
 */

const customElu = JSON.parse(readFileSync(new URL('../../../examples/custom-elu-layer.json', import.meta.url), 'utf8')) as Record<string, unknown>;

interface Case {
  name: string;
  type: LayerType;
  /** Layers between the image input and the one under test (the last of these). */
  layers: Record<string, unknown>[];
  inputSize?: [number, number, number];
}

const cases: Case[] = [
  { name: 'image input', type: 'imageInput', layers: [], inputSize: [5, 4, 2] },
  { name: 'convolution, valid', type: 'convolution2d', layers: [{ type: 'convolution2d', filterSize: [3, 2], numFilters: 4 }] },
  { name: 'convolution, same, stride 2', type: 'convolution2d', layers: [{ type: 'convolution2d', filterSize: 3, numFilters: 3, stride: 2, padding: 'same' }] },
  { name: 'convolution, explicit padding', type: 'convolution2d', layers: [{ type: 'convolution2d', filterSize: 2, numFilters: 3, padding: [1, 0, 2, 1] }] },
  { name: 'convolution, dilated, same', type: 'convolution2d', layers: [{ type: 'convolution2d', filterSize: 3, numFilters: 2, dilationFactor: [2, 1], padding: 'same' }] },
  { name: 'convolution after a flat layer', type: 'convolution2d', layers: [{ type: 'fullyConnected', outputSize: 6 }, { type: 'convolution2d', filterSize: 1, numFilters: 2 }] },
  { name: 'batch normalization', type: 'batchNormalization', layers: [{ type: 'batchNormalization' }] },
  { name: 'batch normalization, flat', type: 'batchNormalization', layers: [{ type: 'fullyConnected', outputSize: 5 }, { type: 'batchNormalization', epsilon: 1e-3 }] },
  { name: 'elu, learnable per channel', type: 'elu', layers: [{ type: 'elu' }] },
  { name: 'elu, fixed', type: 'elu', layers: [{ type: 'elu', learnable: false, alpha: 0.7 }] },
  { name: 'relu', type: 'relu', layers: [{ type: 'relu' }] },
  { name: 'leaky relu', type: 'leakyRelu', layers: [{ type: 'leakyRelu', scale: 0.2 }] },
  { name: 'clipped relu', type: 'clippedRelu', layers: [{ type: 'clippedRelu', ceiling: 0.5 }] },
  { name: 'tanh', type: 'tanh', layers: [{ type: 'tanh' }] },
  { name: 'max pooling, same', type: 'maxPooling2d', layers: [{ type: 'maxPooling2d', poolSize: 2, padding: 'same' }] },
  { name: 'max pooling, explicit padding', type: 'maxPooling2d', layers: [{ type: 'maxPooling2d', poolSize: 3, stride: 1, padding: [1, 2, 0, 1] }] },
  { name: 'average pooling, same', type: 'averagePooling2d', layers: [{ type: 'averagePooling2d', poolSize: 2, padding: 'same' }] },
  { name: 'average pooling, valid', type: 'averagePooling2d', layers: [{ type: 'averagePooling2d', poolSize: [2, 1], stride: [1, 2] }] },
  { name: 'global average pooling', type: 'globalAveragePooling2d', layers: [{ type: 'globalAveragePooling2d' }] },
  { name: 'fully connected on an image', type: 'fullyConnected', layers: [{ type: 'fullyConnected', outputSize: 4 }] },
  { name: 'fully connected on a vector', type: 'fullyConnected', layers: [{ type: 'fullyConnected', outputSize: 6 }, { type: 'fullyConnected', outputSize: 3, biasInitializer: 'ones' }] },
  { name: 'softmax', type: 'softmax', layers: [{ type: 'fullyConnected', outputSize: 3 }, { type: 'softmax' }] },
  { name: 'custom', type: 'custom', layers: [customElu] },
];

/** The network of a case: its layers after a small image input, closed by a classifier. */
function built(c: Case): { layers: BuiltLayer[]; model: tfl.Sequential } {
  const middle = c.layers.at(-1)?.['type'] === 'softmax' ? c.layers : [...c.layers, { type: 'fullyConnected', outputSize: 2 }, { type: 'softmax' }];
  const result = validateNetwork({ layers: [{ type: 'imageInput', inputSize: c.inputSize ?? [7, 6, 3], normalization: 'none' }, ...middle, { type: 'classification' }] });
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  const layers = buildLayers(result.value, 11);
  const model = tfl.sequential({ layers: layers.flatMap((b) => b.tfLayers) });
  // Learnables away from their initial values (zero biases, unit scales) so that every one counts.
  layers.forEach((b, i) =>
    b.tfLayers.forEach((layer) =>
      layer.trainableWeights.forEach((w, k) => {
        const shape = w.shape as number[];
        w.write(tf.tensor(randomArray(tf.util.sizeFromShape(shape), 100 + i * 10 + k), shape));
      }),
    ),
  );
  return { layers, model };
}

/** The input of layer k: a random batch through the layers before it. */
function inputOf(layers: BuiltLayer[], k: number, size: [number, number, number]): tf.Tensor {
  const x: tf.Tensor = tf.tensor4d(randomArray(3 * size[0] * size[1] * size[2], 7, -2, 2), [3, ...size]);
  return layers.slice(0, k).flatMap((b) => b.tfLayers).reduce((h, layer) => layer.apply(h, { training: false }) as tf.Tensor, x);
}

function apply(layer: BuiltLayer, x: tf.Tensor): tf.Tensor {
  return layer.tfLayers.reduce((h, l) => l.apply(h, { training: true }) as tf.Tensor, x);
}

/** Output, and every weight afterwards (batch norm's moving statistics move in training). */
function run(layer: BuiltLayer, forward: () => tf.Tensor): { y: Float32Array; weights: Float32Array[] } {
  const saved = layer.tfLayers.flatMap((l) => l.weights.map((w) => tf.clone(w.read())));
  const y = tf.tidy(() => forward().dataSync() as Float32Array);
  const after = layer.tfLayers.flatMap((l) => l.weights.map((w) => w.read().dataSync() as Float32Array));
  layer.tfLayers.flatMap((l) => l.weights).forEach((w, i) => w.write(saved[i]!));
  tf.dispose(saved);
  return { y, weights: after };
}

describe.each(['wasm', 'cpu'])('training forwards on %s', (backend) => {
  beforeAll(async () => {
    await useTestBackend();
    await tf.setBackend(backend);
  });
  afterAll(useTestBackend);

  it.each(cases)('$name: the training forward equals apply(x, {training: true})', (c) => {
    const { layers, model } = built(c);
    const index = c.layers.length;
    const layer = layers[index]!;
    expect(layer.spec.type).toBe(c.type);
    const x = inputOf(layers, index, c.inputSize ?? [7, 6, 3]);
    const ours = run(layer, () => layer.trainForward([x], new Random(1)));
    const theirs = run(layer, () => apply(layer, x));
    expect(ours.y.length).toBe(theirs.y.length);
    expect(worstMismatch(ours.y, theirs.y, 1e-5, 1e-4)).toBeLessThanOrEqual(1);
    expect(ours.weights.length).toBe(theirs.weights.length);
    ours.weights.forEach((w, i) => expect(worstMismatch(w, theirs.weights[i]!, 1e-6, 1e-5)).toBeLessThanOrEqual(1));
    x.dispose();
    model.dispose();
  });

  it('dropout: a fresh mask each step from its generator, scaled as tfjs scales the kept values', () => {
    const probability = 0.3;
    const { layers, model } = built({ name: 'dropout', type: 'dropout', layers: [{ type: 'dropout', probability }], inputSize: [20, 20, 10] });
    const layer = layers[1]!;
    const x = inputOf(layers, 1, [20, 20, 10]);
    const xs = x.dataSync();
    /** The fraction dropped; every value kept must be x / (1 - probability). */
    const dropped = (y: ArrayLike<number>) => {
      let zeros = 0;
      let misscaled = 0;
      for (let i = 0; i < xs.length; i++) {
        if (y[i] === 0) zeros++;
        else if (Math.abs(y[i]! - xs[i]! / (1 - probability)) > 1e-5) misscaled++;
      }
      expect(misscaled).toBe(0);
      return zeros / xs.length;
    };
    const rng = new Random(5);
    const first = run(layer, () => layer.trainForward([x], rng)).y;
    const second = run(layer, () => layer.trainForward([x], rng)).y;
    const again = run(layer, () => layer.trainForward([x], new Random(5))).y;
    const theirs = run(layer, () => apply(layer, x)).y;
    for (const y of [first, second, theirs]) expect(Math.abs(dropped(y) - probability)).toBeLessThan(0.03);
    expect(Array.from(again)).toEqual(Array.from(first));
    expect(Array.from(second)).not.toEqual(Array.from(first));
    x.dispose();
    model.dispose();
  });

  it('the output layer is past the logits: training stops before it', () => {
    const { layers, model } = built(cases.find((c) => c.type === 'softmax')!);
    expect(layers.map((b) => b.afterLogits)).toEqual(layers.map((b) => b.spec.type === 'softmax' || b.spec.type === 'classification'));
    model.dispose();
  });
});

it('covers every layer type', () => {
  // The merging layers train by their tfjs layers' own apply (no forward of their own to compare); test/nn/graph.test.ts checks their gradients.
  const covered = new Set<string>([...cases.map((c) => c.type), 'dropout', 'classification', 'addition', 'concatenation', 'depthConcatenation']);
  expect(layerTypes.filter((t) => !covered.has(t))).toEqual([]);
});
