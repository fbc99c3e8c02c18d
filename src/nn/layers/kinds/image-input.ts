import { describe } from '../../problems.js';
import type { Normalization, Size3 } from '../../spec.js';
import { ImageInput } from '../image-input.js';
import type { LayerKind } from '../kind.js';

export interface ImageInputParams {
  normalization: Normalization;
}

/** The first layer: the image size, and how images are normalised on the way in. */
export const imageInput: LayerKind<'imageInput'> = {
  type: 'imageInput',
  namePrefix: 'imageinput',
  inputCount: () => 0,
  read({ f, limits }) {
    const raw = f.raw('inputSize');
    const normalization = f.oneOf('normalization', ['zerocenter', 'zscore', 'rescale-zero-one', 'none'] as const, 'zerocenter');
    let size: Size3 | null = null;
    if (raw === undefined) f.problem('inputSize', 'inputSize is required: [height, width, channels]');
    else if (!Array.isArray(raw) || (raw.length !== 2 && raw.length !== 3)) {
      f.problem('inputSize', `inputSize must be [height, width] or [height, width, channels], not ${describe(raw)}`);
    } else {
      const dims = raw.map((x) => f.checkInt('inputSize', x, 1, limits.maxImageSide));
      if (dims.every((x) => x !== undefined)) size = [dims[0]!, dims[1]!, dims[2] ?? 1];
    }
    return normalization && size ? { params: { normalization }, output: size, learnables: 0 } : null;
  },
  build: (spec) => ({ tfLayers: [new ImageInput({ name: spec.name, inputSize: spec.outputSize, normalization: spec.normalization })] }),
};
