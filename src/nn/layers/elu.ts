import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { defaultLayerName } from './names.js';
import { eluWithAlpha } from '../ops/elu.js';

export interface EluArgs {
  name?: string;
  /** The fixed alpha, or the initial one when alphaInitializer is a number. */
  alpha?: number;
  learnable?: boolean;
  /** One alpha per channel (the last axis) rather than one for the layer. */
  perChannel?: boolean;
  alphaInitializer?: 'rand' | 'zeros' | 'ones' | number;
  seed?: number;
  trainable?: boolean;
}

/**
 * The seed's layer: an ELU whose alpha is learned, one per channel by default, initialised
 * uniformly in [0, 1). With learnable false it is the ordinary ELU with a fixed alpha.
 */
export class Elu extends tfl.layers.Layer {
  static className = 'trainyard>Elu';
  private readonly alphaValue: number;
  private readonly learnable: boolean;
  private readonly perChannel: boolean;
  private readonly alphaInitializer: 'rand' | 'zeros' | 'ones' | number;
  private readonly seed: number | undefined;
  private alpha: tfl.LayerVariable | null = null;

  constructor(args: EluArgs = {}) {
    super({ ...args, name: args.name ?? defaultLayerName('elu') });
    this.alphaValue = args.alpha ?? 1;
    this.learnable = args.learnable ?? true;
    this.perChannel = args.perChannel ?? true;
    this.alphaInitializer = args.alphaInitializer ?? 'rand';
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const channels = shape[shape.length - 1];
    if (this.perChannel && typeof channels !== 'number') {
      throw new Error(`layer ${this.name}: a per-channel alpha needs a known channel count, got shape [${shape.join(', ')}]`);
    }
    const alphaShape = this.perChannel ? [channels as number] : [1];
    this.alpha = this.addWeight('alpha', alphaShape, 'float32', this.initializer(), undefined, this.learnable);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return eluWithAlpha(x, this.alpha!.read());
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      alpha: this.alphaValue,
      learnable: this.learnable,
      perChannel: this.perChannel,
      alphaInitializer: this.alphaInitializer,
    };
  }

  private initializer(): ReturnType<typeof tfl.initializers.zeros> {
    const init = this.learnable ? this.alphaInitializer : this.alphaValue;
    if (typeof init === 'number') return tfl.initializers.constant({ value: init });
    if (init === 'rand') return tfl.initializers.randomUniform({ minval: 0, maxval: 1, seed: this.seed });
    return init === 'zeros' ? tfl.initializers.zeros() : tfl.initializers.ones();
  }
}

tf.serialization.registerClass(Elu, 'trainyard', 'Elu');
