import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Classifier } from '../../../src/nn/classifier.js';
import { escapeConfigText, unescapeConfigText } from '../../../src/nn/custom/config-text.js';
import { CustomLayer } from '../../../src/nn/custom/layer.js';
import { validateCustomLayer } from '../../../src/nn/custom/validate.js';
import { Elu } from '../../../src/nn/layers/elu.js';
import { eluWithAlpha } from '../../../src/nn/ops/elu.js';
import { fromModelFiles, toModelFiles } from '../../../src/nn/serialize.js';
import { validateNetwork } from '../../../src/nn/spec.js';
import { randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';
import { customEluAutodiff, customEluWithBackward } from './seed-elu.js';

beforeAll(useTestBackend);

function customLayer(json: unknown, inputSize: [number, number, number], seed?: number): CustomLayer {
  const spec = validateCustomLayer(json, inputSize);
  if (!spec.ok) throw new Error(spec.problems.map((p) => p.message).join('\n'));
  return new CustomLayer({ name: spec.value.name, definition: spec.value.definition, ...(seed === undefined ? {} : { seed }) });
}

/** Z, dL/dX and dL/dAlpha of L = sum(dLdZ * f(X, alpha)). */
function valueAndGradients(f: (x: tf.Tensor, alpha: tf.Tensor) => tf.Tensor, x: tf.Tensor, alpha: tf.Tensor, dLdZ: tf.Tensor) {
  return tf.tidy(() => {
    const [dx, da] = tf.grads((xx: tf.Tensor, aa: tf.Tensor) => tf.sum(tf.mul(f(xx, aa), dLdZ)))([x, alpha]);
    return { z: f(x, alpha).dataSync(), dx: dx!.dataSync(), da: da!.dataSync() };
  });
}

describe('the seed ELU as a custom layer', () => {
  const shape: [number, number, number, number] = [2, 6, 6, 5];
  const size = 2 * 6 * 6 * 5;
  // Normal-ish values with exact zeros, large magnitudes and values near exp's overflow mixed in.
  const xData = randomArray(size, 3, -4, 4).map((v, i) => (i % 17 === 0 ? 0 : i % 29 === 0 ? 1e4 * Math.sign(v) : i % 31 === 0 ? 88.8 : v));
  const dLdZData = randomArray(size, 5);

  it.each([
    ['with its hand-written backward', customEluWithBackward],
    ['without a backward (autodiff)', customEluAutodiff],
  ])('gives the outputs and gradients of the built-in elu layer %s', (_what, json) => {
    const layer = customLayer(json, [6, 6, 5], 7);
    const builtIn = new Elu({ seed: 7 });
    const x = tf.tensor4d(xData, shape);
    const dLdZ = tf.tensor4d(dLdZData, shape);
    layer.apply(x);
    builtIn.apply(x);
    // Same seed, same initial alpha: the first learnable draws from the layer's seed as Elu does.
    const alpha = builtIn.trainableWeights[0]!.read();
    expect(Array.from(layer.trainableWeights[0]!.read().dataSync())).toEqual(Array.from(alpha.dataSync()));

    const { run } = layer.compiled;
    const ours = valueAndGradients((xx, aa) => run(xx, [aa]), x, alpha, dLdZ);
    const reference = valueAndGradients(eluWithAlpha, x, alpha, dLdZ);
    // float32 tolerance |ours - reference| <= 1e-6 + 1e-6 |reference|. With the backward the ops are
    // the seed's and the results bit-identical. Autodiff computes alpha * exp(x) where the seed has
    // alpha + Z = alpha + alpha (exp(x) - 1): rounding in exp(x) - 1 makes them differ by up to
    // ~3e-6 relative for x near 0, where the values are small enough for the 1e-6 absolute term.
    for (const key of ['z', 'dx', 'da'] as const) {
      expect(worstMismatch(ours[key], reference[key], 1e-6, 1e-6), key).toBeLessThanOrEqual(1);
      for (const v of ours[key]) expect(Number.isFinite(v)).toBe(true);
    }
    tf.dispose([x, dLdZ]);
    layer.dispose();
    builtIn.dispose();
  });
});

describe('CustomLayer', () => {
  it('works on [N, k] vectors after a fully connected layer, and keeps their rank', () => {
    const layer = customLayer({ type: 'custom', forward: 'tanh(x) * w + b', learnables: { w: { initializer: 2 }, b: { shape: 'scalar', initializer: 0.5 } } }, [1, 1, 3]);
    const z = layer.apply(tf.tensor2d([[0, 1, -1], [2, 0, 0]])) as tf.Tensor;
    expect(z.shape).toEqual([2, 3]);
    const expected = [0, 1, -1, 2, 0, 0].map((v) => Math.tanh(v) * 2 + 0.5);
    expect(worstMismatch(z.dataSync(), expected, 1e-6, 1e-6)).toBeLessThanOrEqual(1);
    expect(layer.trainableWeights.map((w) => w.shape)).toEqual([[3], [1]]);
  });

  it('counts a sum over a broadcast axis once per position, as if broadcast first', () => {
    const layer = customLayer({ type: 'custom', forward: 'x + sum(w, "spatial+batch")', learnables: { w: { initializer: 1 } } }, [2, 3, 1]);
    const z = layer.apply(tf.zeros([4, 2, 3, 1])) as tf.Tensor;
    expect(Array.from(z.dataSync())).toEqual(Array(24).fill(4 * 2 * 3));
  });

  it('saves and loads back from model.json alone, with identical predictions', async () => {
    // Capitals and underscores in names and expressions: tfjs rewrites config strings on save and load.
    const json = {
      type: 'custom',
      name: 'scaledElu',
      learnables: { Alpha_c: { shape: 'perChannel', initializer: 'rand' }, gain: { shape: 'scalar', initializer: 'ones' } },
      forward: 'gain * (x > 0 ? x : Alpha_c * (exp(min(x, 0)) - 1))',
    };
    const network = validateNetwork({
      layers: [{ type: 'imageInput', inputSize: [6, 6, 2], normalization: 'none' }, json, { type: 'fullyConnected', outputSize: 3 }, { type: 'softmax' }, { type: 'classification' }],
    });
    if (!network.ok) throw new Error(network.problems.map((p) => p.message).join('\n'));
    const model = tfl.sequential({
      layers: [tfl.layers.inputLayer({ inputShape: [6, 6, 2] }), customLayer(json, [6, 6, 2], 5), tfl.layers.flatten(), tfl.layers.dense({ units: 3, activation: 'softmax' })],
    });
    const original = new Classifier(model, network.value, ['a', 'b', 'c']);
    const files = await toModelFiles(original);
    const text = JSON.stringify(files.modelJson);
    expect((files.modelJson['userDefinedMetadata'] as { customLayers: string[] }).customLayers).toEqual(['trainyard>Custom']);
    expect(text).toContain('trainyard>Custom');
    const reread = { modelJson: JSON.parse(text) as Record<string, unknown>, weights: files.weights.slice() };
    const loaded = await fromModelFiles(reread, network.value, original.classes);
    const images = randomArray(4 * 72, 17, -2, 2);
    expect(Array.from(await loaded.predict(images, 4))).toEqual(Array.from(await original.predict(images, 4)));
    const rebuilt = loaded.model.layers.find((l) => l instanceof CustomLayer) as CustomLayer;
    expect(rebuilt.definition).toEqual(network.value.layers[1]!.type === 'custom' && network.value.layers[1]!.definition);
    original.dispose();
    loaded.dispose();
  });

  it('escapes config text so that the case rewriting of tfjs leaves it alone, and reads it back', () => {
    const text = 'Alpha_c * x ~ "spatial+batch" \u00e9\n';
    const escaped = escapeConfigText(text);
    expect(escaped).toMatch(/^[^A-Z_]*$/);
    expect(unescapeConfigText(escaped)).toBe(text);
  });
});
