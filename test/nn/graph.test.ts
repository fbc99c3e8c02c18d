import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildLayers, isChain } from '../../src/nn/build.js';
import { layerTypes, problemsWithData, validateNetwork } from '../../src/nn/spec.js';
import { train } from '../../src/nn/train.js';
import { Random } from '../../src/nn/random.js';
import { randomArray, useTestBackend, worstMismatch } from '../helpers/backend.js';
import { digits, graphNetworkJson, network, options, seedNetworkJson } from '../helpers/data.js';
import { sizeOf, valueAndGradients } from '../helpers/gradients.js';

const residual = JSON.parse(readFileSync(new URL('../../examples/residual-digits.json', import.meta.url), 'utf8')) as unknown;

function problems(input: unknown) {
  const result = validateNetwork(input);
  if (result.ok) throw new Error('expected the network to be rejected');
  return result.problems;
}

/** The graph test network with some of its fields replaced. */
function graphWith(change: (net: { layers: Record<string, unknown>[]; connections: Record<string, unknown>[] }) => void) {
  const net = structuredClone(graphNetworkJson) as { layers: Record<string, unknown>[]; connections: Record<string, unknown>[] };
  change(net);
  return net;
}

describe('networks as graphs: validation', () => {
  it('infers each layer size and its inputs through every path', () => {
    const net = network(graphNetworkJson);
    const by = new Map(net.layers.map((l) => [l.name, l]));
    expect(by.get('add_1')).toMatchObject({ inputs: ['myElu', 'elu_a'], outputSize: [28, 28, 4] });
    expect(by.get('depthcat_1')).toMatchObject({ inputs: ['add_1', 'conv_b'], outputSize: [28, 28, 8] });
    expect(by.get('pool_b')).toMatchObject({ inputs: ['depthcat_1'], outputSize: [14, 14, 8] });
    expect(by.get('concat_1')).toMatchObject({ inputs: ['pool_a', 'pool_b'], outputSize: [28, 14, 8], dim: 1 });
    expect(by.get('fc_1')).toMatchObject({ inputs: ['concat_1'], outputSize: [1, 1, 10] });
    expect(by.get('add_2')).toMatchObject({ inputs: ['fc_1', 'fc_2'], outputSize: [1, 1, 10] });
    expect(by.get('gap')).toMatchObject({ inputs: ['pool_b'], outputSize: [1, 1, 8] });
    expect(by.get('classoutput_1')).toMatchObject({ inputs: ['softmax_1'] });
    // conv_a 9*1*4+4, conv_b 9*4*4+4, elu 4, custom 4, fc_1 28*14*8*10+10, fc_2 8*10+10
    expect(net.learnables).toBe(40 + 148 + 4 + 4 + (28 * 14 * 8 * 10 + 10) + (8 * 10 + 10));
    expect(isChain(net)).toBe(false);
    expect(isChain(network(seedNetworkJson))).toBe(true);
  });

  it('names the classification layer where it is listed when the data has another class count', () => {
    expect(problemsWithData(network(graphNetworkJson), [28, 28, 1], 5, 'five')).toEqual([
      { path: 'layers[12]', message: 'layers[12] (classification): the network has 10 outputs but dataset five has 5 classes' },
    ]);
  });

  it('treats a chain written with empty connections as the same chain', () => {
    const chain = network(seedNetworkJson);
    const withConnections = network({ ...seedNetworkJson, connections: [] });
    expect(withConnections.layers).toEqual(chain.layers);
  });

  it.each([
    ['an unknown layer in from', graphWith((n) => n.connections.push({ from: 'nope', to: 'add_1/in2' })), 'connections[5].from', 'connections[5]: there is no layer named "nope"'],
    ['an unknown layer in to', graphWith((n) => n.connections.push({ from: 'gap', to: 'nope/in1' })), 'connections[5].to', 'connections[5]: there is no layer named "nope"'],
    [
      'an input the layer does not have',
      graphWith((n) => n.connections.push({ from: 'gap', to: 'add_1/in3' })),
      'connections[5].to',
      'connections[5]: add_1 (addition) takes 2 inputs (in1 to in2); there is no in3',
    ],
    ['a second input of a one-input layer', graphWith((n) => n.connections.push({ from: 'gap', to: 'fc_2/in2' })), 'connections[5].to', 'connections[5]: fc_2 (fullyConnected) takes one input; there is no in2'],
    ['an input to the image input', graphWith((n) => n.connections.push({ from: 'gap', to: 'imageinput_1' })), 'connections[5].to', 'connections[5]: imageinput_1 (imageInput) takes no input; there is no in1'],
    [
      'an input connected twice',
      graphWith((n) => n.connections.push({ from: 'conv_a', to: 'add_1/in2' })),
      'connections[5].to',
      'connections[5]: add_1/in2 is already connected by connections[0]; an input takes one connection',
    ],
    ['a malformed input', graphWith((n) => (n.connections[0]!['to'] = 'add_1/input2')), 'connections[0].to', 'connections[0]: to "add_1/input2" must be a layer name, or a layer name and an input as in "add_1/in2"'],
    [
      'a connection from the classification output',
      graphWith((n) => (n.connections[4]!['from'] = 'classoutput_1')),
      'connections[4].from',
      'connections[4]: "classoutput_1" is a classification output: it has no output to connect',
    ],
    [
      'a cycle',
      graphWith((n) => (n.connections[2]!['from'] = 'gap')),
      'connections',
      "the layers gap → pool_b → gap form a cycle; a layer's output cannot feed back into it",
    ],
    [
      'an input left unconnected',
      graphWith((n) => n.connections.splice(1, 1)),
      'layers[6]',
      'layers[6] (depthConcatenation): input in2 is not connected: add a connection to "depthcat_1/in2"',
    ],
    [
      'a layer fed by nothing',
      graphWith((n) => n.connections.splice(2, 1)),
      'layers[13]',
      'layers[13] (maxPooling2d): its input is not connected: add a connection to "pool_b"',
    ],
    ['an output going nowhere', graphWith((n) => n.connections.splice(4, 1, { from: 'fc_1', to: 'add_2/in2' })), 'layers[15]', 'layers[15] (fullyConnected): its output goes nowhere: connect "fc_2" to a layer, or remove it'],
    [
      'an addition of different sizes',
      graphWith((n) => (n.connections[0]!['from'] = 'imageinput_1')),
      'layers[5]',
      'layers[5] (addition): the inputs of an addition must all have the same size: in1 is 28x28x4, in2 is 28x28x1',
    ],
    [
      'a concatenation that disagrees off its dim',
      graphWith((n) => (n.layers[13]!['stride'] = 1)),
      'layers[8]',
      'layers[8] (concatenation): inputs concatenated along height must agree in width and channels: in1 is 14x14x8, in2 is 27x27x8',
    ],
    [
      'two image inputs',
      graphWith((n) => n.layers.push({ type: 'imageInput', name: 'second', inputSize: [28, 28, 1] }, { type: 'fullyConnected', name: 'fc_3', outputSize: 10 })),
      'layers[16]',
      'the network has 2 imageInput layers (layers[0], layers[16]); trainyard supports one image input per network',
    ],
    [
      'two classification outputs',
      graphWith((n) => n.layers.push({ type: 'softmax', name: 'softmax_2' }, { type: 'classification', name: 'out_2' }) && n.connections.push({ from: 'fc_1', to: 'softmax_2' })),
      'layers[17]',
      'the network has 2 classification layers (layers[12], layers[17]); trainyard supports one classification output per network',
    ],
    ['connections of the wrong kind', { ...seedNetworkJson, connections: { from: 'a' } }, 'connections', 'connections must be a list of {"from": "layer", "to": "layer/inN"}, not an object'],
  ])('reports %s with its path and a sentence', (_, net, path, message) => {
    expect(problems(net)).toContainEqual({ path, message });
  });

  it('answers any wiring of any layers with a network or problems, never an exception', () => {
    const names = ['a', 'b', 'c', 'd', 'nope'];
    const layer = fc.record(
      {
        type: fc.constantFrom(...layerTypes, 'bogus'),
        name: fc.constantFrom(...names),
        numInputs: fc.integer({ min: 1, max: 3 }),
        dim: fc.integer({ min: 0, max: 4 }),
        outputSize: fc.constant(10),
        filterSize: fc.constant(1),
        numFilters: fc.constant(2),
        poolSize: fc.constant(1),
      },
      { requiredKeys: ['type'] },
    );
    const end = fc.constantFrom(...names, ...names.map((n) => `${n}/in2`), `a/in3`, 'b/x', 'imageinput_1', 'classoutput_1');
    const net = fc.record({
      layers: fc.array(layer, { maxLength: 8 }).map((layers) => [{ type: 'imageInput', inputSize: [4, 4, 2] }, ...layers, { type: 'softmax' }, { type: 'classification' }]),
      connections: fc.array(fc.record({ from: end, to: end }), { maxLength: 6 }),
    });
    fc.assert(
      fc.property(net, (n) => {
        const result = validateNetwork(n);
        if (!result.ok) expect(result.problems.length).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
  });

  it('an addition fed only at in2 reports in1 unconnected (a counterexample the property found)', () => {
    const net = {
      layers: [{ type: 'imageInput', inputSize: [4, 4, 2] }, { type: 'classification', name: 'b' }, { type: 'addition', name: 'nope' }, { type: 'softmax' }, { type: 'classification' }],
      connections: [{ from: 'b', to: 'nope/in2' }],
    };
    expect(problems(net)).toContainEqual({ path: 'layers[2]', message: 'layers[2] (addition): input in1 is not connected: add a connection to "nope/in1"' });
  });

  it('reports every problem of a graph at once', () => {
    const net = graphWith((n) => {
      n.connections.push({ from: 'nope', to: 'add_1/in3' });
      n.connections.splice(1, 1);
      n.layers[8]!['dim'] = 4;
    });
    expect(problems(net).map((p) => p.path)).toEqual(expect.arrayContaining(['connections[4].from', 'layers[6]', 'layers[8].dim']));
  });
});

describe('networks as graphs: training', () => {
  beforeAll(useTestBackend);

  it.each([
    ['an addition', { type: 'addition' }],
    ['a concatenation along width', { type: 'concatenation', dim: 2 }],
    ['a depth concatenation', { type: 'depthConcatenation' }],
  ])('the gradient through %s matches central finite differences', (_, merge) => {
    // The merging layer of a small graph, by its training forward, between two nonlinearities so the check is not of a constant.
    const net = network({
      layers: [
        { type: 'imageInput', inputSize: [3, 4, 2], normalization: 'none' },
        { type: 'relu', name: 'a' },
        { ...merge, name: 'merge' },
        { type: 'fullyConnected', outputSize: 2 },
        { type: 'softmax' },
        { type: 'classification' },
        { type: 'tanh', name: 'b' },
      ],
      connections: [
        { from: 'imageinput_1', to: 'b' },
        { from: 'b', to: 'merge/in2' },
      ],
    });
    const layer = buildLayers(net, 3).find((b) => b.spec.name === 'merge')!;
    const f = (a: tf.Tensor, b: tf.Tensor) => tf.tanh(layer.trainForward([tf.square(a), tf.sin(b)], new Random(1)));
    const shape = [2, 3, 4, 2];
    const n = sizeOf(shape);
    // What valueAndGradients feeds and weighs with: its inputs and dy for seed 7.
    const inputs = [randomArray(n, 7), randomArray(n, 8)];
    const { value, grads } = valueAndGradients(f, [shape, shape], 7);
    const dy = randomArray(value.length, 107);
    const loss = (values: Float32Array[]) => {
      const y = Float32Array.from(tf.tidy(() => f(tf.tensor(values[0]!, shape), tf.tensor(values[1]!, shape)).dataSync()));
      return y.reduce((sum, v, i) => sum + v * dy[i]!, 0);
    };
    const h = 1e-2;
    for (const which of [0, 1]) {
      const numeric = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        const moved = (delta: number) => inputs.map((v, i) => (i === which ? Float32Array.from(v, (x, j) => (j === k ? x + delta : x)) : v));
        numeric[k] = (loss(moved(h)) - loss(moved(-h))) / (2 * h);
      }
      expect(worstMismatch(grads[which]!, numeric, 1e-3, 1e-2)).toBeLessThanOrEqual(1);
    }
  });
});

describe('networks as graphs: the engine', () => {
  beforeAll(useTestBackend);

  it('trains the residual digits example end to end, batch-norm population statistics through the graph included', async () => {
    const data = await digits(1000, 500);
    const result = await train(network(residual), { source: data.source }, options({ miniBatchSize: 64, maxEpochs: 3, seed: 1, batchNormalizationStatistics: 'population' }));
    try {
      expect(result.stopReason).toBe('max-epochs');
      expect(result.classifier.model.getClassName()).toBe('Model');
      const test = await result.classifier.evaluate(data.source, 'test');
      console.log(`residual-digits: test accuracy ${test.accuracy} after ${result.iterations} iterations on 1000 images`);
      expect(test.accuracy).toBeGreaterThan(0.8);
    } finally {
      result.classifier.dispose();
    }
  });
});

