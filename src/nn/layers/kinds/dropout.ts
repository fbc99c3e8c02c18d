import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerKind } from '../kind.js';

export interface DropoutParams {
  probability: number;
}

export const dropout: LayerKind<'dropout'> = {
  type: 'dropout',
  namePrefix: 'dropout',
  read(ctx) {
    const probability = ctx.f.number('probability', { default: 0.5, min: 0, max: 1, exclusiveMax: true });
    return probability === undefined ? null : { params: { probability }, output: ctx.input, learnables: 0 };
  },
  build(spec) {
    const rate = spec.probability;
    return {
      tfLayers: [tfl.layers.dropout({ name: spec.name, rate })],
      // A seeded tfjs Dropout draws the same mask every step; draw a fresh, reproducible one instead.
      trainForward: (x, rng) => (rate > 0 ? tf.dropout(x, rate, undefined, rng.nextUint32()) : x),
    };
  },
};
