import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { conv2dWithBias } from '../../ops/conv.js';
import { biasInitializer, biasInitializers, weightsInitializer, weightsInitializers } from '../initializers.js';
import type { LayerKind } from '../kind.js';
import { readChannels, readPadding, slide, tfPaddingMode } from '../window.js';
import type { BiasInitializer, Padding4, WeightsInitializer } from '../../spec.js';

export interface Convolution2dParams {
  filterSize: [number, number];
  numFilters: number;
  stride: [number, number];
  /** 'same' is resolved to explicit numbers, the way MATLAB does it (extra on bottom/right). */
  padding: Padding4;
  dilationFactor: [number, number];
  weightsInitializer: WeightsInitializer;
  biasInitializer: BiasInitializer;
}

/** The height and width a dilated filter covers. */
function dilatedFilterSize(filterSize: [number, number], dilation: [number, number]): [number, number] {
  return [(filterSize[0] - 1) * dilation[0] + 1, (filterSize[1] - 1) * dilation[1] + 1];
}

export const convolution2d: LayerKind<'convolution2d'> = {
  type: 'convolution2d',
  namePrefix: 'conv',
  takes: 'image',
  read(ctx) {
    const { f } = ctx;
    const filterSize = f.pair('filterSize');
    const numFilters = f.int('numFilters');
    const stride = f.pair('stride', { default: [1, 1] });
    const dilationFactor = f.pair('dilationFactor', { default: [1, 1] });
    const weightsInitializer = f.oneOf('weightsInitializer', weightsInitializers, 'glorot');
    const biasInitializer = f.oneOf('biasInitializer', biasInitializers, 'zeros');
    readChannels(ctx);
    const effective = filterSize && dilationFactor ? dilatedFilterSize(filterSize, dilationFactor) : undefined;
    // 'same' is resolved to explicit numbers here, the way MATLAB does it (extra on bottom/right).
    const padding = readPadding(ctx, effective, stride);
    if (stride && dilationFactor && Math.max(...stride) > 1 && Math.max(...dilationFactor) > 1) {
      f.problem('dilationFactor', 'a stride above 1 and a dilationFactor above 1 cannot be combined');
      return null;
    }
    if (!filterSize || !numFilters || !stride || !dilationFactor || !padding || !effective || !weightsInitializer || !biasInitializer) {
      return null;
    }
    const params = { filterSize, numFilters, stride, padding, dilationFactor, weightsInitializer, biasInitializer };
    if (!ctx.input) return { params, output: null, learnables: 0 };
    const output = slide(ctx, 'filterSize', effective, stride, padding, numFilters);
    return { params, output, learnables: filterSize[0] * filterSize[1] * ctx.input[2] * numFilters + numFilters };
  },
  learnables: (spec) => [
    { name: 'weight', weight: 'kernel', shape: [...spec.filterSize, spec.inputSize[2], spec.numFilters] },
    { name: 'bias', weight: 'bias', shape: [spec.numFilters] },
  ],
  build(spec, seed) {
    const tfLayers: tfl.layers.Layer[] = [];
    let mode = tfPaddingMode(spec.padding, spec.inputSize, dilatedFilterSize(spec.filterSize, spec.dilationFactor), spec.stride);
    if (mode === null) {
      const [t, b, l, r] = spec.padding;
      tfLayers.push(tfl.layers.zeroPadding2d({ name: `${spec.name}_pad`, padding: [[t, b], [l, r]] }));
      mode = 'valid';
    }
    const padding = mode;
    const pad = [...tfLayers];
    const conv = tfl.layers.conv2d({
      name: spec.name,
      filters: spec.numFilters,
      kernelSize: spec.filterSize,
      strides: spec.stride,
      padding,
      dilationRate: spec.dilationFactor,
      kernelInitializer: weightsInitializer(spec.weightsInitializer, seed(0)),
      biasInitializer: biasInitializer(spec.biasInitializer, seed(1)),
    });
    tfLayers.push(conv);
    return {
      tfLayers,
      // tfjs has no gradient for a dilated convolution, and on wasm conv2dWithBias is one fused kernel.
      trainForward: (x) => {
        const padded = pad.reduce((h, layer) => layer.apply(h) as tf.Tensor, x) as tf.Tensor4D;
        const [kernel, bias] = conv.trainableWeights.map((w) => w.read());
        return conv2dWithBias(padded, kernel as tf.Tensor4D, bias as tf.Tensor1D, spec.stride, padding, spec.dilationFactor);
      },
    };
  },
};
