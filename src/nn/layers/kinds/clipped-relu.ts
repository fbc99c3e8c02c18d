import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerKind } from '../kind.js';

export interface ClippedReluParams {
  ceiling: number;
}

export const clippedRelu: LayerKind<'clippedRelu'> = {
  type: 'clippedRelu',
  namePrefix: 'clippedrelu',
  read(ctx) {
    const ceiling = ctx.f.number('ceiling', { min: 0, exclusiveMin: true });
    return ceiling === undefined ? null : { params: { ceiling }, output: ctx.input, learnables: 0 };
  },
  build: (spec) => ({ tfLayers: [tfl.layers.reLU({ name: spec.name, maxValue: spec.ceiling })] }),
};
