import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLayers, buildModel } from '../../src/nn/build.js';
import { Solver } from '../../src/nn/optimizers.js';
import { validateNetwork } from '../../src/nn/spec.js';
import { train } from '../../src/nn/train.js';
import { useTestBackend } from '../helpers/backend.js';
import { digits, graphNetworkJson, network, options, seedNetworkJson } from '../helpers/data.js';

beforeAll(useTestBackend);

/** The seed network with fields added to the layer at `index`. */
function seedWith(index: number, fields: Record<string, unknown>) {
  return { layers: seedNetworkJson.layers.map((layer, k) => (k === index ? { ...layer, ...fields } : layer)) };
}

describe('learn-rate and L2 factors', () => {
  it('are read onto the layers that have those learnables, MATLAB defaults elsewhere', () => {
    const net = network(seedWith(1, { name: 'conv_1', weightLearnRateFactor: 0, biasLearnRateFactor: 0.5, weightL2Factor: 2 }));
    expect(net.layers[1]!.factors).toEqual([
      { learnable: 'weight', learnRate: 0, l2: 2 },
      { learnable: 'bias', learnRate: 0.5 },
    ]);
    expect(network(seedWith(2, { scaleLearnRateFactor: 0, offsetL2Factor: 0 })).layers[2]!.factors).toEqual([
      { learnable: 'scale', learnRate: 0 },
      { learnable: 'offset', l2: 0 },
    ]);
    expect(network(seedWith(3, { alphaLearnRateFactor: 0.1 })).layers[3]!.factors).toEqual([{ learnable: 'alpha', learnRate: 0.1 }]);
    const custom = { ...graphNetworkJson, layers: graphNetworkJson.layers.map((l) => (l.type === 'custom' ? { ...l, alphaLearnRateFactor: 0.5, alphaL2Factor: 0 } : l)) };
    expect(network(custom).layers.find((l) => l.type === 'custom')!.factors).toEqual([{ learnable: 'alpha', learnRate: 0.5, l2: 0 }]);
    expect(network().layers[1]!.factors).toBeUndefined();
  });

  it('are refused with their JSON path when not a number at least 0, or on a learnable the layer does not have', () => {
    const problems = (json: unknown) => {
      const result = validateNetwork(json);
      return result.ok ? [] : result.problems;
    };
    expect(problems(seedWith(1, { weightLearnRateFactor: -1 }))).toEqual([
      { path: 'layers[1].weightLearnRateFactor', message: expect.stringContaining('must be a number at least 0') },
    ]);
    expect(problems(seedWith(4, { biasLearnRateFactor: '0' }))[0]!.path).toBe('layers[4].biasLearnRateFactor');
    expect(problems(seedWith(2, { weightLearnRateFactor: 0 }))).toEqual([
      { path: 'layers[2].weightLearnRateFactor', message: expect.stringContaining("no learnable 'weight' (its learnables: scale, offset)") },
    ]);
    const onRelu = { layers: [...seedNetworkJson.layers.slice(0, 3), { type: 'relu', weightLearnRateFactor: 0 }, ...seedNetworkJson.layers.slice(4)] };
    expect(problems(onRelu)).toEqual([{ path: 'layers[3].weightLearnRateFactor', message: expect.stringContaining('it has no learnables') }]);
    expect(problems(seedWith(3, { learnable: false, alphaLearnRateFactor: 0 }))[0]!.path).toBe('layers[3].alphaLearnRateFactor');
  });

  it('scale the step of every solver: factor 0.5 halves the first step, 0 leaves the weight as it was', () => {
    for (const solver of ['sgdm', 'adam', 'rmsprop']) {
      const s = new Solver(options({ solver }));
      const w = [1, 0.5, 0].map(() => tf.variable(tf.tensor1d([1, -2, 3])));
      const g = tf.tensor1d([0.5, 0.25, -1]);
      tf.tidy(() =>
        s.step(
          w.map((variable, k) => ({ variable, l2Factor: 0, learnRateFactor: [1, 0.5, 0][k]! })),
          new Map(w.map((v) => [v, g])),
          0.1,
        ),
      );
      const step = (k: number) => tf.sub(w[k]!, tf.tensor1d([1, -2, 3])).dataSync();
      const full = step(0);
      const half = step(1);
      expect(full.every((x) => x !== 0)).toBe(true);
      half.forEach((x, i) => expect(x).toBeCloseTo(full[i]! / 2, 6));
      expect(Array.from(w[2]!.dataSync())).toEqual([1, -2, 3]);
      s.dispose();
      tf.dispose([...w, g]);
    }
  });

  it('freeze a layer: its weights come out of training bit for bit as they went in, while the others change', async () => {
    const { source } = await digits(128);
    const json = seedWith(1, { name: 'conv_1', weightLearnRateFactor: 0, biasLearnRateFactor: 0 });
    const net = network(json);
    const initial = buildModel(net, buildLayers(net, 42));
    const before = (name: string) => initial.getLayer(name).getWeights().map((t) => Array.from(t.dataSync()));
    for (const solver of ['sgdm', 'adam', 'rmsprop']) {
      const result = await train(net, { source }, options({ solver, miniBatchSize: 32, maxEpochs: 1, seed: 42, l2Regularization: 0.01 }));
      const after = (name: string) => result.classifier.model.getLayer(name).getWeights().map((t) => Array.from(t.dataSync()));
      expect(after('conv_1'), solver).toEqual(before('conv_1'));
      expect(after('fc_1'), solver).not.toEqual(before('fc_1'));
      expect(after('batchnorm_1')[0], solver).not.toEqual(before('batchnorm_1')[0]);
      result.classifier.dispose();
    }
    initial.dispose();
  });
});
