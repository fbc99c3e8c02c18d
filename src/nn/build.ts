import type * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { TrainForward } from './layers/kind.js';
import { layerKind } from './layers/registry.js';
import { deriveSeed } from './random.js';
import type { Layer, Network } from './spec.js';

/**
 * Turns a validated network into tfjs layers. Each network layer becomes the tfjs layers its module
 * (layers/kinds/) builds, after a Flatten or Reshape where it takes a vector and gets an image or
 * the other way round, with its training-mode forward.
 */
export interface BuiltLayer {
  spec: Layer;
  tfLayers: tfl.layers.Layer[];
  /** Training-mode forward from the layer's input: what `apply(x, {training: true})` of tfLayers computes. */
  trainForward: TrainForward;
  /** Past the logits (softmax, classification): training stops before it and takes the loss from the logits. */
  afterLogits: boolean;
}

export function buildLayers(network: Network, seed: number): BuiltLayer[] {
  let flat = false;
  return network.layers.map((spec, index) => {
    const kind = layerKind(spec.type);
    const adapters: tfl.layers.Layer[] = [];
    if (kind.takes === 'image' && flat) adapters.push(tfl.layers.reshape({ targetShape: spec.inputSize, name: `${spec.name}_reshape` }));
    if (kind.takes === 'flat' && !flat) adapters.push(tfl.layers.flatten({ name: `${spec.name}_flatten` }));
    if (kind.takes) flat = kind.takes === 'flat';
    if (kind.flattens) flat = true;
    const own = kind.build(spec, (k) => deriveSeed(seed, index * 8 + k));
    const tfLayers = [...adapters, ...own.tfLayers];
    const trainForward: TrainForward = own.trainForward
      ? (x, rng) => own.trainForward!(applyAll(adapters, x), rng)
      : (x) => applyAll(tfLayers, x, { training: true });
    return { spec, tfLayers, trainForward, afterLogits: kind.afterLogits === true };
  });
}

function applyAll(layers: tfl.layers.Layer[], x: tf.Tensor, kwargs?: { training: boolean }): tf.Tensor {
  return layers.reduce((h, layer) => layer.apply(h, kwargs) as tf.Tensor, x);
}
