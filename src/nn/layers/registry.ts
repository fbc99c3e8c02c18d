import type { LayerType } from '../spec.js';
import type { LayerKind } from './kind.js';
import { addition, type AdditionParams } from './kinds/addition.js';
import { averagePooling2d } from './kinds/average-pooling2d.js';
import { batchNormalization, type BatchNormalizationParams } from './kinds/batch-normalization.js';
import { classification, type ClassificationParams } from './kinds/classification.js';
import { clippedRelu, type ClippedReluParams } from './kinds/clipped-relu.js';
import { convolution2d, type Convolution2dParams } from './kinds/convolution2d.js';
import { concatenation, type ConcatenationParams } from './kinds/concatenation.js';
import { custom, type CustomParams } from './kinds/custom.js';
import { depthConcatenation, type DepthConcatenationParams } from './kinds/depth-concatenation.js';
import { dropout, type DropoutParams } from './kinds/dropout.js';
import { elu, type EluParams } from './kinds/elu.js';
import { fullyConnected, type FullyConnectedParams } from './kinds/fully-connected.js';
import { globalAveragePooling2d } from './kinds/global-average-pooling2d.js';
import { imageInput, type ImageInputParams } from './kinds/image-input.js';
import { leakyRelu, type LeakyReluParams } from './kinds/leaky-relu.js';
import { maxPooling2d } from './kinds/max-pooling2d.js';
import type { PoolingParams } from './kinds/pooling.js';
import { relu } from './kinds/relu.js';
import { softmax } from './kinds/softmax.js';
import { tanh } from './kinds/tanh.js';

/** Each layer type's own parameters as its module declares them; spec.ts's Layer is built from these. */
export interface LayerParams {
  imageInput: ImageInputParams;
  convolution2d: Convolution2dParams;
  batchNormalization: BatchNormalizationParams;
  elu: EluParams;
  relu: NoParams;
  leakyRelu: LeakyReluParams;
  clippedRelu: ClippedReluParams;
  tanh: NoParams;
  maxPooling2d: PoolingParams;
  averagePooling2d: PoolingParams;
  globalAveragePooling2d: NoParams;
  fullyConnected: FullyConnectedParams;
  dropout: DropoutParams;
  addition: AdditionParams;
  concatenation: ConcatenationParams;
  depthConcatenation: DepthConcatenationParams;
  softmax: NoParams;
  classification: ClassificationParams;
  /** A layer the user defines with expressions (src/nn/custom/). */
  custom: CustomParams;
}

type NoParams = Record<never, never>;

/**
 * Every layer type, in the order error messages list them. The mapped type makes a layer type
 * without a module (or a module under the wrong type) a compile error.
 */
const kinds: { [T in LayerType]: LayerKind<T> } = {
  imageInput,
  convolution2d,
  batchNormalization,
  elu,
  relu,
  leakyRelu,
  clippedRelu,
  tanh,
  maxPooling2d,
  averagePooling2d,
  globalAveragePooling2d,
  fullyConnected,
  dropout,
  addition,
  concatenation,
  depthConcatenation,
  softmax,
  classification,
  custom,
};

/** Every layer type the spec accepts. */
export const layerTypes = Object.keys(kinds) as LayerType[];

/**
 * Keyed by layer type; a Map, so a user's type string ("constructor", ...) finds nothing it should
 * not. Widened once here: a kind's build only ever gets a spec of its own type, as it is found by
 * that spec's type.
 */
export const layerKinds: ReadonlyMap<string, LayerKind> = new Map(Object.values(kinds).map((kind) => [kind.type, kind as unknown as LayerKind]));

/** The module of a layer type the spec accepted. */
export function layerKind(type: LayerType): LayerKind {
  const kind = layerKinds.get(type);
  if (!kind) throw new Error(`no module for layer type ${type}`);
  return kind;
}
