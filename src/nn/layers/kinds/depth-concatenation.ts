import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerKind } from '../kind.js';
import { numInputsOf, readNumInputs } from '../merge.js';
import { concatenationReading, type ConcatenationParams } from './concatenation.js';

export type DepthConcatenationParams = Pick<ConcatenationParams, 'numInputs'>;

/** MATLAB's depthConcatenationLayer: concatenation along channels (flat 1x1xK inputs stay flat). */
export const depthConcatenation: LayerKind<'depthConcatenation'> = {
  type: 'depthConcatenation',
  namePrefix: 'depthcat',
  inputCount: numInputsOf,
  read(ctx) {
    const numInputs = readNumInputs(ctx.f);
    return concatenationReading(ctx, 3, numInputs, { numInputs });
  },
  build: (spec) => ({ tfLayers: [tfl.layers.concatenate({ name: spec.name, axis: -1 })] }),
};
