import { beforeAll, describe, expect, it } from 'vitest';
import { buildLayers, buildModel } from '../../src/nn/build.js';
import { copyLayerWeights, matchLayers } from '../../src/nn/initial-weights.js';
import { train } from '../../src/nn/train.js';
import { useTestBackend } from '../helpers/backend.js';
import { digits, network, options, seedNetworkJson } from '../helpers/data.js';

beforeAll(useTestBackend);

/** The seed network with its fully connected layer replaced (a new name) and its convolution frozen. */
const transferJson = {
  layers: seedNetworkJson.layers.map((layer) =>
    layer['type'] === 'fullyConnected' ? { ...layer, name: 'fc_digits' } : layer['type'] === 'convolution2d' ? { ...layer, weightLearnRateFactor: 0, biasLearnRateFactor: 0 } : layer,
  ),
};

describe('starting from a model', () => {
  it('takes the layers of the same name, type and learnable shapes, and says why it leaves the others', () => {
    const changed = {
      layers: [
        { type: 'imageInput', inputSize: [28, 28, 1] },
        { type: 'convolution2d', filterSize: 3, numFilters: 20 },
        { type: 'batchNormalization' },
        { type: 'elu', name: 'fc_1', numChannels: 20 },
        { type: 'fullyConnected', name: 'fc_new', outputSize: 3 },
        { type: 'softmax' },
        { type: 'classification' },
      ],
    };
    expect(matchLayers(network(changed), network())).toEqual({
      taken: ['batchnorm_1'],
      notTaken: [
        { layer: 'conv_1', reason: 'size differs: weight [3, 3, 1, 20] here, [5, 5, 1, 20] in the model' },
        { layer: 'fc_1', reason: "the model's fc_1 is a fullyConnected layer, not elu" },
        { layer: 'fc_new', reason: 'not in the model' },
      ],
    });
    expect(matchLayers(network(), network())).toEqual({ taken: ['conv_1', 'batchnorm_1', 'elu_1', 'fc_1'], notTaken: [] });
  });

  it("starts the taken layers from the model's weights, moving statistics included, and from a lower loss than from scratch", async () => {
    const { source } = await digits(256);
    const settings = options({ miniBatchSize: 32, maxEpochs: 2, seed: 7 });
    const parent = await train(network(), { source }, settings);
    const net = network(transferJson);
    const layers = matchLayers(net, network()).taken;
    expect(layers).toEqual(['conv_1', 'batchnorm_1', 'elu_1']);
    const losses: number[] = [];
    const child = await train(net, { source }, options({ miniBatchSize: 32, maxEpochs: 1, seed: 8 }), {
      initialWeights: { model: parent.classifier.model, layers },
      onProgress: (r) => void losses.push(r.miniBatchLoss),
    });
    const values = (model: typeof parent.classifier.model, name: string) => model.getLayer(name).getWeights().map((t) => Array.from(t.dataSync()));
    // conv_1 is frozen: it is the model's, bit for bit.
    expect(values(child.classifier.model, 'conv_1')).toEqual(values(parent.classifier.model, 'conv_1'));
    // A copy alone: every weight of the batch normalization, its moving mean and variance with its scale and offset.
    const fresh0 = buildModel(net, buildLayers(net, 8));
    copyLayerWeights(fresh0, parent.classifier.model, ['batchnorm_1']);
    expect(values(fresh0, 'batchnorm_1')).toHaveLength(4);
    expect(values(fresh0, 'batchnorm_1')).toEqual(values(parent.classifier.model, 'batchnorm_1'));
    fresh0.dispose();
    const scratch: number[] = [];
    const fresh = await train(network({ layers: transferJson.layers.map(({ weightLearnRateFactor: _w, biasLearnRateFactor: _b, ...l }) => l) }), { source }, options({ miniBatchSize: 32, maxEpochs: 1, seed: 8 }), {
      onProgress: (r) => void scratch.push(r.miniBatchLoss),
    });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses)).toBeLessThan(mean(scratch));
    for (const r of [parent, child, fresh]) r.classifier.dispose();
  });
});
