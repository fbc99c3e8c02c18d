import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerKind } from '../kind.js';

export const softmax: LayerKind<'softmax'> = {
  type: 'softmax',
  namePrefix: 'softmax',
  afterLogits: true,
  read(ctx) {
    if (ctx.input && (ctx.input[0] !== 1 || ctx.input[1] !== 1)) {
      ctx.f.problem(null, `softmax needs a 1x1xK input (put a fullyConnected or globalAveragePooling2d layer before it), not ${ctx.input.join('x')}`);
      return null;
    }
    return { params: {}, output: ctx.input, learnables: 0 };
  },
  build: (spec) => ({ tfLayers: [tfl.layers.softmax({ name: spec.name })] }),
};
