import type { LayerType } from '../spec.js';
import type { LayerKind } from './kind.js';
import { averagePooling2d } from './kinds/average-pooling2d.js';
import { batchNormalization } from './kinds/batch-normalization.js';
import { classification } from './kinds/classification.js';
import { clippedRelu } from './kinds/clipped-relu.js';
import { convolution2d } from './kinds/convolution2d.js';
import { custom } from './kinds/custom.js';
import { dropout } from './kinds/dropout.js';
import { elu } from './kinds/elu.js';
import { fullyConnected } from './kinds/fully-connected.js';
import { globalAveragePooling2d } from './kinds/global-average-pooling2d.js';
import { imageInput } from './kinds/image-input.js';
import { leakyRelu } from './kinds/leaky-relu.js';
import { maxPooling2d } from './kinds/max-pooling2d.js';
import { relu } from './kinds/relu.js';
import { softmax } from './kinds/softmax.js';
import { tanh } from './kinds/tanh.js';

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
