import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { Classifier } from '../../../src/nn/classifier.js';
import { Elu } from '../../../src/nn/layers/elu.js';
import { eluWithAlpha } from '../../../src/nn/ops/elu.js';
import { fromModelFiles, toModelFiles } from '../../../src/nn/serialize.js';
import { validateNetwork } from '../../../src/nn/spec.js';
import { randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';

beforeAll(useTestBackend);

/** dL/dX and dL/dAlpha of L = sum(dLdZ * elu(X, alpha)), from the layer's own backward. */
function analytic(x: tf.Tensor, alpha: tf.Tensor, dLdZ: tf.Tensor) {
  return tf.tidy(() => {
    const g = tf.grads((xx: tf.Tensor, aa: tf.Tensor) => tf.sum(tf.mul(eluWithAlpha(xx, aa), dLdZ)));
    const [dx, da] = g([x, alpha]);
    return { dx: dx!.dataSync(), da: da!.dataSync() };
  });
}

describe('eluWithAlpha', () => {
  it('gives the seed formula on hand-computed values', () => {
    const z = tf.tidy(() => eluWithAlpha(tf.tensor2d([[-1, 0, 2], [-3, 0.5, -0.25]]), tf.tensor1d([0.5, 1, 0.25])).dataSync());
    const expected = [0.5 * (Math.exp(-1) - 1), 0, 2, 0.5 * (Math.exp(-3) - 1), 0.5, 0.25 * (Math.exp(-0.25) - 1)];
    expect(worstMismatch(z, expected, 1e-7, 1e-6)).toBeLessThanOrEqual(1);
  });

  it('has the seed backward: dX = dZ((X>0) + (alpha+Z)(X<=0)), dAlpha = sum dZ(exp(min(X,0))-1)', () => {
    const xs = [-2, -0.5, 0, 0.7, 3];
    const alpha = 0.8;
    const dz = [0.3, -1.2, 2, 0.5, -0.7];
    const { dx, da } = analytic(tf.tensor2d([xs]), tf.tensor1d([alpha]), tf.tensor2d([dz]));
    const z = xs.map((v) => (v > 0 ? v : alpha * (Math.exp(v) - 1)));
    const expectedDx = xs.map((v, i) => dz[i]! * (v > 0 ? 1 : alpha + z[i]!));
    const expectedDa = xs.reduce((s, v, i) => s + dz[i]! * (Math.exp(Math.min(v, 0)) - 1), 0);
    expect(worstMismatch(dx, expectedDx, 1e-6, 1e-5)).toBeLessThanOrEqual(1);
    expect(worstMismatch(da, [expectedDa], 1e-6, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('agrees with central finite differences, per channel, on a 4-D batch', () => {
    // float32 only (tfjs has no float64). With step h = 1e-2 the truncation error of a central
    // difference is h^2/6 * |f'''| <= 1.7e-5 (f''' = alpha e^x <= 1 on the negative branch) and the
    // rounding error about eps32 * |L| / h ~ 6e-8 * 50 / 1e-2 = 3e-4 for a sum L of ~200 terms;
    // 2e-3 absolute plus 1e-3 relative covers both with room, and is still far below what a wrong
    // formula gives (a missing "- 1" or (1 + Z) instead of (alpha + Z) is off by O(0.1)).
    const shape: [number, number, number, number] = [2, 3, 4, 5];
    const size = 2 * 3 * 4 * 5;
    // Keep inputs away from the kink at 0, where the derivative jumps and no difference quotient applies.
    const xData = randomArray(size, 7, -3, 2).map((v) => (Math.abs(v) < 0.05 ? v + 0.1 : v));
    const x = tf.tensor4d(xData, shape);
    const alphaData = randomArray(5, 11, 0, 1);
    const alpha = tf.tensor1d(alphaData);
    const dLdZ = tf.tensor4d(randomArray(size, 13), shape);
    const { dx, da } = analytic(x, alpha, dLdZ);
    const h = 1e-2;
    const loss = (xv: tf.Tensor, av: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(eluWithAlpha(xv, av), dLdZ)).dataSync()[0]!);
    // The layer is elementwise, so one pair of shifted evaluations gives every dX entry at once.
    const numericDx = tf.tidy(() => {
      const up = tf.mul(eluWithAlpha(tf.add(x, h), alpha), dLdZ);
      const down = tf.mul(eluWithAlpha(tf.sub(x, h), alpha), dLdZ);
      return tf.div(tf.sub(up, down), 2 * h).dataSync();
    });
    const numericDa = Array.from(alphaData, (_, c) => {
      const shifted = (d: number) => tf.tensor1d(alphaData.map((v, k) => (k === c ? v + d : v)));
      return (loss(x, shifted(h)) - loss(x, shifted(-h))) / (2 * h);
    });
    expect(worstMismatch(dx, numericDx, 2e-3, 1e-3)).toBeLessThanOrEqual(1);
    expect(worstMismatch(da, numericDa, 2e-3, 1e-3)).toBeLessThanOrEqual(1);
    tf.dispose([x, alpha, dLdZ]);
  });

  it('gives no Inf or NaN at X = 0, X = 1e4 and X = -1e4', () => {
    const { z, dx, da } = tf.tidy(() => {
      const x = tf.tensor1d([0, 1e4, -1e4, 88.8, 100]);
      const alpha = tf.tensor1d([0.5]);
      const [gx, ga] = tf.grads((xx: tf.Tensor, aa: tf.Tensor) => tf.sum(eluWithAlpha(xx, aa)))([x, alpha]);
      return { z: eluWithAlpha(x, alpha).dataSync(), dx: gx!.dataSync(), da: ga!.dataSync() };
    });
    for (const v of [...z, ...dx, ...da]) expect(Number.isFinite(v)).toBe(true);
    expect(Array.from(z)).toEqual([0, 1e4, -0.5, Math.fround(88.8), 100]);
    // at exactly 0 the seed's rule takes the negative branch: dX = dZ * (alpha + Z) = 0.5
    expect(dx[0]).toBeCloseTo(0.5, 6);
  });
});

describe('Elu layer', () => {
  it('holds one learnable alpha per channel in [0, 1), or one fixed alpha', () => {
    const layer = new Elu({ seed: 3 });
    layer.apply(tf.zeros([1, 4, 4, 6]));
    const [alpha] = layer.trainableWeights;
    expect(alpha!.shape).toEqual([6]);
    const values = alpha!.read().dataSync();
    for (const v of values) expect(v >= 0 && v < 1).toBe(true);
    expect(new Set(values).size).toBe(6);
    const fixed = new Elu({ learnable: false, alpha: 0.3 });
    fixed.apply(tf.zeros([1, 2]));
    expect(fixed.trainableWeights).toHaveLength(0);
    expect(fixed.nonTrainableWeights[0]!.read().dataSync()[0]).toBeCloseTo(0.3);
    expect(fixed.getConfig()).toMatchObject({ learnable: false, alpha: 0.3, perChannel: true });
  });

  it('saves and loads back with identical predictions', async () => {
    const network = validateNetwork({
      layers: [
        { type: 'imageInput', inputSize: [6, 6, 2], normalization: 'none' },
        { type: 'elu' },
        { type: 'fullyConnected', outputSize: 3 },
        { type: 'softmax' },
        { type: 'classification' },
      ],
    });
    if (!network.ok) throw new Error('network rejected');
    const model = tfl.sequential({
      layers: [tfl.layers.inputLayer({ inputShape: [6, 6, 2] }), new Elu({ seed: 5 }), tfl.layers.flatten(), tfl.layers.dense({ units: 3, activation: 'softmax' })],
    });
    const original = new Classifier(model, network.value, ['a', 'b', 'c']);
    const files = await toModelFiles(original);
    expect((files.modelJson['userDefinedMetadata'] as { customLayers: string[] }).customLayers).toEqual(['trainyard>Elu']);
    const reread = { modelJson: JSON.parse(JSON.stringify(files.modelJson)) as Record<string, unknown>, weights: files.weights.slice() };
    const loaded = await fromModelFiles(reread, network.value, original.classes);
    const images = randomArray(4 * 72, 17, -2, 2);
    expect(Array.from(await loaded.predict(images, 4))).toEqual(Array.from(await original.predict(images, 4)));
    original.dispose();
    loaded.dispose();
  });
});
