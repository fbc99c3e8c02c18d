import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerKind } from '../kind.js';
import { describeInputs, knownInputs, numInputsOf, readNumInputs } from '../merge.js';

export interface AdditionParams {
  numInputs: number;
}

/** MATLAB's additionLayer: the element-wise sum of inputs of one size (the join of a residual block). */
export const addition: LayerKind<'addition'> = {
  type: 'addition',
  namePrefix: 'addition',
  inputCount: numInputsOf,
  read(ctx) {
    const numInputs = readNumInputs(ctx.f);
    if (numInputs === undefined) return null;
    const params = { numInputs };
    const sizes = knownInputs(ctx, numInputs);
    if (!sizes) return { params, output: null, learnables: 0 };
    const [first] = sizes as [(typeof sizes)[0]];
    if (sizes.some((s) => s.some((d, i) => d !== first[i]))) {
      ctx.f.problem(null, `the inputs of an addition must all have the same size: ${describeInputs(sizes)}`);
      return { params, output: null, learnables: 0 };
    }
    return { params, output: first, learnables: 0 };
  },
  build: (spec) => ({ tfLayers: [tfl.layers.add({ name: spec.name })] }),
};
