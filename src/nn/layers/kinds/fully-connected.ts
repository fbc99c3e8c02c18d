import * as tfl from '@tensorflow/tfjs-layers';
import { denseTraining } from '../../ops/layer-forwards.js';
import { biasInitializer, biasInitializers, weightsInitializer, weightsInitializers } from '../initializers.js';
import type { LayerKind } from '../kind.js';
import type { BiasInitializer, WeightsInitializer } from '../../spec.js';

export interface FullyConnectedParams {
  weightsInitializer: WeightsInitializer;
  biasInitializer: BiasInitializer;
}

export const fullyConnected: LayerKind<'fullyConnected'> = {
  type: 'fullyConnected',
  namePrefix: 'fc',
  takes: 'flat',
  read(ctx) {
    const { f, input } = ctx;
    const outputSize = f.int('outputSize');
    const weightsInitializer = f.oneOf('weightsInitializer', weightsInitializers, 'glorot');
    const biasInitializer = f.oneOf('biasInitializer', biasInitializers, 'zeros');
    if (!outputSize || !weightsInitializer || !biasInitializer) return null;
    const learnables = input ? input[0] * input[1] * input[2] * outputSize + outputSize : 0;
    return { params: { weightsInitializer, biasInitializer }, output: [1, 1, outputSize], learnables };
  },
  learnables: (spec) => [
    { name: 'weight', weight: 'kernel', shape: [spec.inputSize[0] * spec.inputSize[1] * spec.inputSize[2], spec.outputSize[2]] },
    { name: 'bias', weight: 'bias', shape: [spec.outputSize[2]] },
  ],
  build(spec, seed) {
    const dense = tfl.layers.dense({
      name: spec.name,
      units: spec.outputSize[2],
      kernelInitializer: weightsInitializer(spec.weightsInitializer, seed(0)),
      biasInitializer: biasInitializer(spec.biasInitializer, seed(1)),
    });
    return { tfLayers: [dense], trainForward: denseTraining(dense) };
  },
};
