import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerKind } from '../kind.js';

export const tanh: LayerKind<'tanh'> = {
  type: 'tanh',
  namePrefix: 'tanh',
  read: (ctx) => ({ params: {}, output: ctx.input, learnables: 0 }),
  build: (spec) => ({ tfLayers: [tfl.layers.activation({ name: spec.name, activation: 'tanh' })] }),
};
