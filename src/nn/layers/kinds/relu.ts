import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerKind } from '../kind.js';

export const relu: LayerKind<'relu'> = {
  type: 'relu',
  namePrefix: 'relu',
  read: (ctx) => ({ params: {}, output: ctx.input, learnables: 0 }),
  build: (spec) => ({ tfLayers: [tfl.layers.reLU({ name: spec.name })] }),
};
