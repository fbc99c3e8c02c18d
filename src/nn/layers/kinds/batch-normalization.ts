import * as tfl from '@tensorflow/tfjs-layers';
import { batchNormalizationTraining } from '../../ops/layer-forwards.js';
import type { LayerKind } from '../kind.js';
import { readChannels } from '../window.js';

export interface BatchNormalizationParams {
  epsilon: number;
}

/** tfjs's moving-average momentum, as MATLAB's 0.1 decay of the old value. */
const momentum = 0.9;

export const batchNormalization: LayerKind<'batchNormalization'> = {
  type: 'batchNormalization',
  namePrefix: 'batchnorm',
  read(ctx) {
    const epsilon = ctx.f.number('epsilon', { default: 1e-5, min: 1e-10 });
    readChannels(ctx);
    if (epsilon === undefined) return null;
    return { params: { epsilon }, output: ctx.input, learnables: ctx.input ? 2 * ctx.input[2] : 0 };
  },
  // Its moving mean and variance are weights too (not learnables): they travel with these.
  learnables: (spec) => [
    { name: 'scale', weight: 'gamma', shape: [spec.inputSize[2]] },
    { name: 'offset', weight: 'beta', shape: [spec.inputSize[2]] },
  ],
  build(spec) {
    const bn = tfl.layers.batchNormalization({ name: spec.name, epsilon: spec.epsilon, axis: -1, momentum });
    return { tfLayers: [bn], trainForward: batchNormalizationTraining(bn, spec.epsilon, momentum) };
  },
};
