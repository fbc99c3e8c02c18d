import * as tfl from '@tensorflow/tfjs-layers';
import type { Size3 } from '../../spec.js';
import type { LayerContext, LayerKind, LayerReading } from '../kind.js';
import { describeInputs, knownInputs, numInputsOf, readNumInputs } from '../merge.js';

export interface ConcatenationParams {
  /** MATLAB's dimension of a 2-D image: 1 height, 2 width, 3 channels. */
  dim: 1 | 2 | 3;
  numInputs: number;
}

const dimNames = ['height', 'width', 'channels'] as const;

/** Inputs that agree on every dimension but `dim` give one whose `dim` is their sum. */
function concatenated(ctx: LayerContext, dim: 1 | 2 | 3, numInputs: number): Size3 | null {
  const sizes = knownInputs(ctx, numInputs);
  if (!sizes) return null;
  const axis = dim - 1;
  const [first] = sizes as [Size3];
  if (sizes.some((s) => s.some((d, i) => i !== axis && d !== first[i]))) {
    const others = dimNames.filter((_, i) => i !== axis).join(' and ');
    ctx.f.problem(null, `inputs concatenated along ${dimNames[axis]} must agree in ${others}: ${describeInputs(sizes)}`);
    return null;
  }
  const output = [...first] as Size3;
  output[axis] = sizes.reduce((sum, s) => sum + s[axis]!, 0);
  return output;
}

export function concatenationReading(ctx: LayerContext, dim: 1 | 2 | 3 | undefined, numInputs: number | undefined, params: Record<string, unknown>): LayerReading {
  if (dim === undefined || numInputs === undefined) return null;
  return { params, output: concatenated(ctx, dim, numInputs), learnables: 0 };
}

/** MATLAB's concatenationLayer(dim, numInputs). Along height or width it needs images, so flat inputs are reshaped to 1x1xK. */
export const concatenation: LayerKind<'concatenation'> = {
  type: 'concatenation',
  namePrefix: 'concat',
  takes: 'image',
  inputCount: numInputsOf,
  read(ctx) {
    const raw = ctx.f.int('dim', { min: 1, max: 3 });
    const dim = raw as 1 | 2 | 3 | undefined;
    const numInputs = readNumInputs(ctx.f);
    return concatenationReading(ctx, dim, numInputs, { dim, numInputs });
  },
  // In NHWC with the batch first, tfjs's axis is MATLAB's dim.
  build: (spec) => ({ tfLayers: [tfl.layers.concatenate({ name: spec.name, axis: spec.dim })] }),
};
