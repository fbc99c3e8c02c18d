import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { Random } from './random.js';
import { layerKind } from './layers/registry.js';
import { deriveSeed } from './random.js';
import type { Layer, Network } from './spec.js';

/**
 * Turns a validated network into tfjs layers. Each network layer becomes the tfjs layers its module
 * (layers/kinds/) builds, after a Flatten or Reshape on each input where it takes a vector and gets
 * an image or the other way round, with its training-mode forward. A chain becomes a tfjs
 * Sequential model, a graph a functional one (tf.model over tf.input and layer.apply).
 */
export interface BuiltLayer {
  spec: Layer;
  /** Every tfjs layer it becomes: its inputs' adapters, then its own. */
  tfLayers: tfl.layers.Layer[];
  /** Training-mode forward from its inputs: what `apply(inputs, {training: true})` of tfLayers computes. */
  trainForward: (inputs: tf.Tensor[], rng: Random) => tf.Tensor;
  /** Its tfjs layers applied to its inputs' outputs, real tensors (inference) or symbolic ones (a functional model). */
  apply<T extends tf.Tensor | tfl.SymbolicTensor>(inputs: T[], kwargs?: { training: boolean }): T;
  /** Past the logits (softmax, classification): training stops before it and takes the loss from the logits. */
  afterLogits: boolean;
}

export function buildLayers(network: Network, seed: number): BuiltLayer[] {
  const nodes = network.layers.map((spec) => ({ spec }));
  const flatOutputs = new Map<string, boolean>();
  const isFlat = (name: string) => evaluate(nodes, false, (node, inputs) => outputIsFlat(node.spec, inputs), name, flatOutputs);
  return network.layers.map((spec, index) => {
    const kind = layerKind(spec.type);
    const inputsFlat = spec.inputs.map(isFlat);
    const takesFlat = takesVectors(spec, inputsFlat);
    const adapters = inputsFlat.map((isFlat, k) => {
      const suffix = k === 0 ? '' : `${k + 1}`;
      if (!takesFlat && isFlat) return tfl.layers.reshape({ targetShape: sourceSize(network, spec, k), name: `${spec.name}_reshape${suffix}` });
      if (takesFlat && !isFlat) return tfl.layers.flatten({ name: `${spec.name}_flatten${suffix}` });
      return null;
    });
    const own = kind.build(spec, (k) => deriveSeed(seed, index * 8 + k));
    const adapt = <T extends tf.Tensor | tfl.SymbolicTensor>(inputs: T[]): T[] => inputs.map((x, k) => (adapters[k] ? (adapters[k].apply(x) as T) : x));
    const apply = <T extends tf.Tensor | tfl.SymbolicTensor>(inputs: T[], kwargs?: { training: boolean }): T => {
      const adapted = adapt(inputs);
      const [first, ...rest] = own.tfLayers;
      if (!first) return adapted[0]!;
      const h = first.apply(adapted.length === 1 ? adapted[0]! : (adapted as tf.Tensor[] | tfl.SymbolicTensor[]), kwargs) as T;
      return rest.reduce((t, layer) => layer.apply(t, kwargs) as T, h);
    };
    const trainForward = own.trainForward
      ? (inputs: tf.Tensor[], rng: Random) => own.trainForward!(adapt(inputs)[0]!, rng)
      : (inputs: tf.Tensor[]) => apply(inputs, { training: true });
    const tfLayers = [...adapters.filter((a) => a !== null), ...own.tfLayers];
    return { spec, tfLayers, trainForward, apply, afterLogits: kind.afterLogits === true };
  });
}

/** Whether a layer's tfjs layers take vectors: a merge of images and 1x1xK vectors, or a layer taking images, gets images. */
function takesVectors(spec: Layer, inputsFlat: boolean[]): boolean {
  const { takes } = layerKind(spec.type);
  return takes ? takes === 'flat' : inputsFlat.every((f) => f);
}

/** Whether a layer's tfjs output is a vector (it stays one through the layers that take either). */
function outputIsFlat(spec: Layer, inputsFlat: boolean[]): boolean {
  return layerKind(spec.type).flattens === true || (spec.inputs.length > 0 && takesVectors(spec, inputsFlat));
}

/** The size of a layer's k-th input, from the layer feeding it. */
function sourceSize(network: Network, spec: Layer, k: number): Layer['outputSize'] {
  return k === 0 ? spec.inputSize : network.layers.find((l) => l.name === spec.inputs[k])!.outputSize;
}

/** True when every layer takes the one before it in the list: the network as tfjs's Sequential model can hold it. */
export function isChain(network: Network): boolean {
  return network.layers.every((layer, i) => (i === 0 ? layer.inputs.length === 0 : layer.inputs.length === 1 && layer.inputs[0] === network.layers[i - 1]!.name));
}

/** The tfjs model of built layers: Sequential for a chain, functional for a graph, its output the classification layer's. */
export function buildModel(network: Network, built: BuiltLayer[]): tfl.LayersModel {
  if (isChain(network)) return tfl.sequential({ name: 'trainyard', layers: built.flatMap((b) => b.tfLayers) });
  const input = tfl.input({ batchShape: [null, ...network.inputSize], name: 'input' });
  const output = evaluate(built, input, (layer, inputs) => layer.apply(inputs), outputOf(built));
  return tfl.model({ name: 'trainyard', inputs: input, outputs: output });
}

/** The name of the classification layer: what a model outputs. */
function outputOf(built: BuiltLayer[]): string {
  return built.find((b) => b.spec.type === 'classification')!.spec.name;
}

/**
 * The output of layer `name` when `input` enters the image input, computing (once each) only the
 * layers it depends on, each by `step` from its inputs' outputs. Validation guarantees the wiring
 * has no cycle, so this ends.
 */
export function evaluate<T, L extends { spec: Layer }>(built: L[], input: T, step: (layer: L, inputs: T[]) => T, name: string, outputs = new Map<string, T>()): T {
  const known = outputs.get(name);
  if (known !== undefined) return known;
  const layer = built.find((b) => b.spec.name === name)!;
  const inputs = layer.spec.inputs.length === 0 ? [input] : layer.spec.inputs.map((source) => evaluate(built, input, step, source, outputs));
  const value = step(layer, inputs);
  outputs.set(name, value);
  return value;
}
