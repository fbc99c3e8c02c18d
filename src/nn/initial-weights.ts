import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { learnablesOf } from './learn-factors.js';
import type { Network } from './spec.js';

/**
 * Starting a network from a trained model's weights (MATLAB's transfer learning): each layer with
 * learnables whose name, type and learnable shapes are the model's starts from the model's weights
 * (a batch normalization's moving statistics too); the others are initialised as usual.
 */
export interface LayersFromModel {
  /** The network's layers that start from the model's weights, in the network's order. */
  taken: string[];
  /** Its other layers with learnables, and why each is not taken. */
  notTaken: { layer: string; reason: string }[];
}

/** Which layers of `network` can start from `model`'s weights, and why the others cannot. */
export function matchLayers(network: Network, model: Network): LayersFromModel {
  const taken: string[] = [];
  const notTaken: LayersFromModel['notTaken'] = [];
  for (const layer of network.layers) {
    const slots = learnablesOf(layer);
    if (slots.length === 0) continue;
    const theirs = model.layers.find((l) => l.name === layer.name);
    const reason = !theirs
      ? 'not in the model'
      : theirs.type !== layer.type
        ? `the model's ${layer.name} is a ${theirs.type} layer, not ${layer.type}`
        : sizeDifference(slots, learnablesOf(theirs));
    if (reason) notTaken.push({ layer: layer.name, reason });
    else taken.push(layer.name);
  }
  return { taken, notTaken };
}

/** Null when the learnables have the same names and shapes, else how they differ. */
function sizeDifference(ours: ReturnType<typeof learnablesOf>, theirs: ReturnType<typeof learnablesOf>): string | null {
  const shape = (s: number[]) => `[${s.join(', ')}]`;
  for (const slot of ours) {
    const other = theirs.find((t) => t.name === slot.name);
    if (!other) return `size differs: the model's layer has no ${slot.name}`;
    if (shape(other.shape) !== shape(slot.shape)) return `size differs: ${slot.name} ${shape(slot.shape)} here, ${shape(other.shape)} in the model`;
  }
  return ours.length === theirs.length ? null : `size differs: the model's layer has ${theirs.length} learnables, this one ${ours.length}`;
}

/**
 * Sets every weight of the named layers of `target` (learnables and moving statistics) to those of
 * the same layers of `source`, which matchLayers found alike. Both are built models.
 */
export function copyLayerWeights(target: tfl.LayersModel, source: tfl.LayersModel, layers: string[]): void {
  tf.tidy(() => {
    for (const name of layers) {
      const to = target.getLayer(name).weights;
      const from = source.getLayer(name).weights;
      if (to.length !== from.length) throw new Error(`layer ${name} has ${to.length} weights, the model's ${from.length}`);
      to.forEach((w, k) => {
        const value = from[k]!.read();
        if (value.shape.join() !== w.shape.join()) throw new Error(`layer ${name}'s weight ${w.originalName} is [${w.shape.join(', ')}], the model's [${value.shape.join(', ')}]`);
        w.write(tf.clone(value));
      });
    }
  });
}
