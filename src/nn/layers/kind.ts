import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Fields } from '../fields.js';
import type { Random } from '../random.js';
import type { LayerOf, LayerType, NetworkLimits, Size3 } from '../spec.js';

/**
 * What one layer type brings: its spec (fields, defaults, validation, output size, learnable count),
 * its tfjs construction and its training forward. spec.ts and build.ts only iterate the registry
 * (./registry.ts); a new layer type is one module implementing this.
 */

/**
 * Everything a layer's reader needs: its fields, its input size (null when unknown upstream or not
 * connected), the size of each of its inputs (in1, in2, ...: what a multi-input layer reads), the limits.
 */
export interface LayerContext {
  f: Fields;
  input: Size3 | null;
  inputs: (Size3 | null)[];
  limits: NetworkLimits;
}

/** A layer's own parameters and its output size; null output means it could not be inferred. */
export type LayerReading = { params: Record<string, unknown>; output: Size3 | null; learnables: number } | null;

/** Training-mode forward of one single-input network layer, from its own input. */
export type TrainForward = (x: tf.Tensor, rng: Random) => tf.Tensor;

export interface LayerParts {
  /** The tfjs layers it becomes, in order (a padding layer before the layer proper, say). */
  tfLayers: tfl.layers.Layer[];
  /**
   * Its training forward when the tfjs layers' own `apply(x, {training: true})` is not enough
   * (a faster op, a fresh dropout mask); it must compute what that `apply` computes.
   */
  trainForward?: TrainForward;
}

/**
 * One learnable of a layer: `name` as MATLAB names it in its factors (weight for
 * weightLearnRateFactor, bias, scale, offset, ...), the tfjs weight holding it (kernel, gamma, ...)
 * and that weight's shape.
 */
export interface LearnableSlot {
  name: string;
  weight: string;
  shape: number[];
}

export interface LayerKind<T extends LayerType = LayerType> {
  type: T;
  /** MATLAB's short default name prefix: conv for conv_1, ... */
  namePrefix: string;
  /** What shape the tfjs layers take: an image [h, w, c] or a flat vector; absent means either. */
  takes?: 'image' | 'flat';
  /** True when its tfjs output is flat whatever it took (global pooling). */
  flattens?: boolean;
  /** How many inputs it takes with these parameters (numInputs); 1 when absent. */
  inputCount?(params: Record<string, unknown>): number;
  /** True for the layers after the logits: training computes the loss from the logits and stops before them. */
  afterLogits?: boolean;
  /** Reads and checks its fields, fills their defaults, infers its output size and counts its learnables. */
  read(ctx: LayerContext): LayerReading;
  /** Its learnables, in the order of its tfjs weights; absent or empty for a layer with none. */
  learnables?(spec: LayerOf<T>): LearnableSlot[];
  /** Its tfjs layers; seed(k) is the k-th seed of this layer (initializers). */
  build(spec: LayerOf<T>, seed: (k: number) => number): LayerParts;
}
