import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerKind } from '../kind.js';

export const globalAveragePooling2d: LayerKind<'globalAveragePooling2d'> = {
  type: 'globalAveragePooling2d',
  namePrefix: 'gapool',
  takes: 'image',
  flattens: true,
  read: (ctx) => ({ params: {}, output: ctx.input && [1, 1, ctx.input[2]], learnables: 0 }),
  build: (spec) => ({ tfLayers: [tfl.layers.globalAveragePooling2d({ name: spec.name })] }),
};
