import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { layerTypes, problemsWithData, validateNetwork, type Network } from '../../src/nn/spec.js';

const seed = JSON.parse(readFileSync(new URL('../../examples/seed-elu.json', import.meta.url), 'utf8')) as { layers: Record<string, unknown>[] };

function withLayers(...layers: Record<string, unknown>[]) {
  return { layers: [{ type: 'imageInput', inputSize: [28, 28, 1] }, ...layers, { type: 'softmax' }, { type: 'classification' }] };
}

function problems(input: unknown) {
  const result = validateNetwork(input);
  if (result.ok) throw new Error('expected the network to be rejected');
  return result.problems;
}

function valid(input: unknown): Network {
  const result = validateNetwork(input);
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
  return result.value;
}

describe('validateNetwork', () => {
  it('infers every layer size of the seed network and counts its learnables', () => {
    const net = valid(seed);
    expect(net.layers.map((l) => l.outputSize)).toEqual([
      [28, 28, 1],
      [24, 24, 20],
      [24, 24, 20],
      [24, 24, 20],
      [1, 1, 10],
      [1, 1, 10],
      [1, 1, 10],
    ]);
    // conv 5*5*1*20+20, batch norm 2*20, elu 20, fc 11520*10+10
    expect(net.learnables).toBe(520 + 40 + 20 + 115_210);
    expect(net.numClasses).toBe(10);
    expect(net.layers.map((l) => l.name)).toEqual(['imageinput_1', 'conv_1', 'batchnorm_1', 'elu_1', 'fc_1', 'softmax_1', 'classoutput_1']);
  });

  it('fills MATLAB defaults', () => {
    const [, conv, bn, elu] = valid(seed).layers;
    expect(conv).toMatchObject({ stride: [1, 1], padding: [0, 0, 0, 0], dilationFactor: [1, 1], weightsInitializer: 'glorot', biasInitializer: 'zeros' });
    expect(bn).toMatchObject({ epsilon: 1e-5 });
    expect(elu).toMatchObject({ alpha: 1, learnable: true, perChannel: true, alphaInitializer: 'rand', learnables: 20 });
    expect(valid(seed).layers[0]).toMatchObject({ normalization: 'zerocenter' });
  });

  it('reports a channel mismatch in the words of the issue', () => {
    const net = structuredClone(seed);
    net.layers[3] = { type: 'elu', numChannels: 16 };
    expect(problems(net)).toContainEqual({ path: 'layers[3].numChannels', message: 'layers[3] (elu): numChannels 16 does not match its 20 input channels' });
  });

  it('reports a filter larger than its input', () => {
    const net = structuredClone(seed);
    net.layers[1] = { type: 'convolution2d', filterSize: 31, numFilters: 20 };
    expect(problems(net)).toContainEqual({ path: 'layers[1].filterSize', message: 'layers[1] (convolution2d): filterSize 31 is larger than its 28x28 input' });
  });

  it('lists the known types for an unknown one, and keeps checking the other layers', () => {
    const found = problems(withLayers({ type: 'conv' }, { type: 'fullyConnected', outputSize: 0 }));
    expect(found[0]!.path).toBe('layers[1].type');
    expect(found[0]!.message).toContain('unknown layer type "conv"');
    for (const t of layerTypes) expect(found[0]!.message).toContain(t);
    expect(found).toContainEqual({ path: 'layers[2].outputSize', message: 'layers[2] (fullyConnected): outputSize must be at least 1, not 0' });
  });

  it('needs imageInput first and classification last, after softmax', () => {
    expect(problems({ layers: [{ type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' }] })[0]).toEqual({
      path: 'layers[0].type',
      message: 'layers[0] (fullyConnected): the first layer must be imageInput, not fullyConnected',
    });
    const noOutput = problems({ layers: [{ type: 'imageInput', inputSize: [28, 28] }, { type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }] });
    expect(noOutput.map((p) => p.message)).toContain('the last layer must be classification (after softmax)');
    const noSoftmax = problems({ layers: [{ type: 'imageInput', inputSize: [28, 28] }, { type: 'fullyConnected', outputSize: 10 }, { type: 'classification' }] });
    expect(noSoftmax.map((p) => p.message)).toContain('layers[2] (classification): classification must come right after a softmax layer');
  });

  it('rejects non-integer and absurd sizes', () => {
    expect(problems(withLayers({ type: 'convolution2d', filterSize: 2.5, numFilters: 4 }, { type: 'fullyConnected', outputSize: 10 }))).toContainEqual({
      path: 'layers[1].filterSize',
      message: 'layers[1] (convolution2d): filterSize must be an integer, not 2.5',
    });
    const huge = problems(withLayers({ type: 'fullyConnected', outputSize: 100_000 }, { type: 'fullyConnected', outputSize: 10 }));
    expect(huge.at(-1)).toEqual({
      path: 'layers[1]',
      message: 'layers[1] (fullyConnected): its 78,500,000 learnable parameters bring the network to 78,500,000 (79,500,010 in all); the limit is 50,000,000',
    });
  });

  it('names the layer that takes the learnable count over the limit, with the count and the limit', () => {
    const limits = { maxLayers: 200, maxImageSide: 4096 };
    // The seed: conv 520, batch norm 40, ELU 20, fully connected 115,210 learnables.
    const overAtConv = validateNetwork(seed, { ...limits, maxLearnables: 519 });
    expect(overAtConv.ok ? [] : overAtConv.problems).toEqual([
      { path: 'layers[1]', message: 'layers[1] (convolution2d): its 520 learnable parameters bring the network to 520 (115,790 in all); the limit is 519' },
    ]);
    const overAtElu = validateNetwork(seed, { ...limits, maxLearnables: 570 });
    expect(overAtElu.ok ? [] : overAtElu.problems).toEqual([
      { path: 'layers[3]', message: 'layers[3] (elu): its 20 learnable parameters bring the network to 580 (115,790 in all); the limit is 570' },
    ]);
    const overAtLast = validateNetwork(seed, { ...limits, maxLearnables: 115_789 });
    expect(overAtLast.ok ? [] : overAtLast.problems).toEqual([
      { path: 'layers[4]', message: 'layers[4] (fullyConnected): its 115,210 learnable parameters bring the network to 115,790; the limit is 115,789' },
    ]);
    expect(validateNetwork(seed, { ...limits, maxLearnables: 115_790 }).ok).toBe(true);
  });

  it('answers "unknown layer type" for names an object inherits', () => {
    for (const type of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(problems(withLayers({ type }))).toContainEqual({
        path: 'layers[1].type',
        message: expect.stringMatching(/^layers\[1\]: unknown layer type "\w+" \(known types: /),
      });
    }
  });

  it('rejects unknown fields by name, so a typo is not silently ignored', () => {
    expect(problems(withLayers({ type: 'convolution2d', filtersize: 5, filterSize: 5, numFilters: 4 }, { type: 'fullyConnected', outputSize: 10 }))).toContainEqual({
      path: 'layers[1].filtersize',
      message: expect.stringMatching(/^layers\[1\] \(convolution2d\): unknown field 'filtersize' \(known: .*filterSize/),
    });
  });

  it('reports every problem at once', () => {
    const found = problems({
      layers: [
        { type: 'imageInput', inputSize: [28, 28, 1] },
        { type: 'convolution2d', filterSize: 3, numFilters: -1 },
        { type: 'dropout', probability: 1.5 },
        { type: 'elu', perChannel: 'yes' },
        { type: 'softmax' },
        { type: 'classification' },
      ],
    });
    expect(found.map((p) => p.path)).toEqual(['layers[1].numFilters', 'layers[2].probability', 'layers[3].perChannel']);
  });

  it("resolves 'same' padding as MATLAB does, extra on the bottom and right", () => {
    const net = valid(withLayers({ type: 'convolution2d', filterSize: 4, numFilters: 2, padding: 'same', stride: 2 }, { type: 'fullyConnected', outputSize: 10 }));
    expect(net.layers[1]).toMatchObject({ padding: [1, 1, 1, 1], outputSize: [14, 14, 2] });
    const odd = valid(withLayers({ type: 'convolution2d', filterSize: 4, numFilters: 2, padding: 'same' }, { type: 'fullyConnected', outputSize: 10 }));
    expect(odd.layers[1]).toMatchObject({ padding: [1, 2, 1, 2], outputSize: [28, 28, 2] });
  });

  it('infers pooling, dilation and global pooling sizes', () => {
    const net = valid(
      withLayers(
        { type: 'convolution2d', filterSize: 3, numFilters: 8, dilationFactor: 2, padding: [1, 2, 3, 4] },
        { type: 'maxPooling2d', poolSize: 3, stride: 2 },
        { type: 'averagePooling2d', poolSize: 2, padding: 'same' },
        { type: 'globalAveragePooling2d' },
        { type: 'fullyConnected', outputSize: 10 },
      ),
    );
    // 28 + 1 + 2 - 5 + 1 = 27 high, 28 + 3 + 4 - 5 + 1 = 31 wide; pool 3/2: 13 x 15; pool 2 'same': 7 x 8
    expect(net.layers.slice(1, 5).map((l) => l.outputSize)).toEqual([[27, 31, 8], [13, 15, 8], [7, 8, 8], [1, 1, 8]]);
  });

  it('rejects a softmax on an image and classes that do not match', () => {
    expect(problems({ layers: [{ type: 'imageInput', inputSize: [4, 4, 1] }, { type: 'softmax' }, { type: 'classification' }] })[0]!.message).toContain(
      'softmax needs a 1x1xK input',
    );
    const named = structuredClone(seed);
    named.layers[6] = { type: 'classification', classes: ['a', 'b'] };
    expect(problems(named)).toContainEqual({ path: 'layers[6].classes', message: 'layers[6] (classification): classes names 2 classes but its input has 10' });
  });

  it('rejects duplicate names and inputs that are not networks', () => {
    expect(problems(withLayers({ type: 'relu', name: 'a' }, { type: 'tanh', name: 'a' }, { type: 'fullyConnected', outputSize: 3 }))).toContainEqual({
      path: 'layers[2].name',
      message: 'layers[2] (tanh): name "a" is already used by layers[1]',
    });
    expect(problems(null)[0]!.message).toContain('a network must be an object');
    expect(problems({ layers: [] })[0]!.path).toBe('layers');
    expect(problems({ layers: [1] })[0]!.message).toContain('a layer must be an object');
  });

  it('checks a network against a dataset', () => {
    const net = valid(seed);
    expect(problemsWithData(net, [28, 28, 1], 10, 'digits')).toEqual([]);
    expect(problemsWithData(net, [32, 32, 3], 5, 'cifar').map((p) => p.path)).toEqual(['layers[0].inputSize', 'layers[6]']);
  });
});
