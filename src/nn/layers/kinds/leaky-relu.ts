import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerKind } from '../kind.js';

export interface LeakyReluParams {
  scale: number;
}

export const leakyRelu: LayerKind<'leakyRelu'> = {
  type: 'leakyRelu',
  namePrefix: 'leakyrelu',
  read(ctx) {
    const scale = ctx.f.number('scale', { default: 0.01 });
    return scale === undefined ? null : { params: { scale }, output: ctx.input, learnables: 0 };
  },
  build: (spec) => ({ tfLayers: [tfl.layers.leakyReLU({ name: spec.name, alpha: spec.scale })] }),
};
