import * as tfl from '@tensorflow/tfjs-layers';
import { Pad2D } from '../pad2d.js';
import type { LayerOf } from '../../spec.js';
import type { LayerKind } from '../kind.js';
import { readPadding, slide, tfPaddingMode } from '../window.js';
import type { Padding4 } from '../../spec.js';

export interface PoolingParams {
  poolSize: [number, number];
  stride: [number, number];
  padding: Padding4;
}

/** Max and average pooling differ only in their tfjs layer and what padding they add. */
export function poolingKind<T extends 'maxPooling2d' | 'averagePooling2d'>(type: T, namePrefix: string): LayerKind<T> {
  const max = type === 'maxPooling2d';
  return {
    type,
    namePrefix,
    takes: 'image',
    read(ctx) {
      const { f } = ctx;
      const poolSize = f.pair('poolSize');
      const stride = f.pair('stride', { default: poolSize ?? [1, 1] });
      const padding = readPadding(ctx, poolSize, stride);
      if (!poolSize || !stride || !padding) return null;
      if (padding[0] >= poolSize[0] || padding[1] >= poolSize[0] || padding[2] >= poolSize[1] || padding[3] >= poolSize[1]) {
        f.problem('padding', `padding [${padding.join(', ')}] must be smaller than poolSize [${poolSize.join(', ')}] on each side`);
        return null;
      }
      const params = { poolSize, stride, padding };
      if (!ctx.input) return { params, output: null, learnables: 0 };
      return { params, output: slide(ctx, 'poolSize', poolSize, stride, padding, ctx.input[2]), learnables: 0 };
    },
    build(kindSpec) {
      // T is one of the two, but TypeScript does not narrow LayerOf<T> through a type parameter.
      const spec = kindSpec as LayerOf<'maxPooling2d' | 'averagePooling2d'>;
      const tfLayers: tfl.layers.Layer[] = [];
      let mode = tfPaddingMode(spec.padding, spec.inputSize, spec.poolSize, spec.stride);
      // TF's 'same' average excludes the padding from the count; MATLAB counts padding as zeros.
      if (mode === null || (mode === 'same' && !max)) {
        tfLayers.push(new Pad2D({ name: `${spec.name}_pad`, padding: spec.padding, value: max ? Pad2D.lowest : 0 }));
        mode = 'valid';
      }
      const args = { name: spec.name, poolSize: spec.poolSize, strides: spec.stride, padding: mode };
      tfLayers.push(max ? tfl.layers.maxPooling2d(args) : tfl.layers.averagePooling2d(args));
      return { tfLayers };
    },
  };
}
