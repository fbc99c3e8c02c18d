import * as tfl from '@tensorflow/tfjs-layers';
import type { BiasInitializer, WeightsInitializer } from '../spec.js';

/** The weight and bias initializers a convolution or fully connected layer may name, and their tfjs form. */

export const weightsInitializers = ['glorot', 'he', 'narrow-normal'] as const satisfies readonly WeightsInitializer[];
export const biasInitializers = ['zeros', 'ones', 'narrow-normal'] as const satisfies readonly BiasInitializer[];

export function weightsInitializer(kind: WeightsInitializer, seed: number) {
  switch (kind) {
    case 'glorot':
      return tfl.initializers.glorotUniform({ seed });
    case 'he':
      return tfl.initializers.heNormal({ seed });
    case 'narrow-normal':
      return tfl.initializers.randomNormal({ mean: 0, stddev: 0.01, seed });
  }
}

export function biasInitializer(kind: BiasInitializer, seed: number) {
  switch (kind) {
    case 'zeros':
      return tfl.initializers.zeros();
    case 'ones':
      return tfl.initializers.ones();
    case 'narrow-normal':
      return tfl.initializers.randomNormal({ mean: 0, stddev: 0.01, seed });
  }
}
