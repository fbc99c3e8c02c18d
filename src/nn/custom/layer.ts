import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { ValidationError } from '../problems.js';
import { defaultLayerName } from '../layers/names.js';
import type { LayerOf, Size3 } from '../spec.js';
import type { LayerFunction } from './compile.js';
import { configTextEncoding, escapeConfigText, unescapeConfigText } from './config-text.js';
import type { CustomLayerDefinition, LearnableInitializer } from './definition.js';
import { fusedLayerFunction } from './fused.js';
import { programFor, type LayerProgram } from './program.js';
import { definitionFromJson } from './validate.js';

export interface CustomLayerArgs {
  name?: string;
  definition: CustomLayerDefinition;
  /** Learnable k draws its initial values from seed + k. */
  seed?: number;
  trainable?: boolean;
}

/**
 * A user-defined layer, in the style of tfjs-layers' PReLU: build adds one weight per learnable,
 * call evaluates the compiled forward, and the config holds the whole definition, so a saved model
 * rebuilds the layer from model.json alone. Registered as "trainyard>Custom".
 *
 * It takes [N, h, w, c] images, or [N, k] vectors after a fully connected layer (read as
 * [N, 1, 1, k]), and gives back the same rank.
 */
export class CustomLayer extends tfl.layers.Layer {
  static className = 'trainyard>Custom';
  readonly definition: CustomLayerDefinition;
  private readonly seed: number | undefined;
  private state: { program: LayerProgram; run: LayerFunction; learnables: tfl.LayerVariable[] } | null = null;

  constructor(args: CustomLayerArgs) {
    super({ ...args, name: args.name ?? defaultLayerName('custom') });
    this.definition = args.definition;
    this.seed = args.seed;
  }

  /** The checked program and its compiled function, once the layer is built (the layer check runs them). */
  get compiled(): { program: LayerProgram; run: LayerFunction } {
    if (!this.state) throw new Error(`layer ${this.name} is not built yet`);
    return this.state;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const program = this.programFor(inputShape);
    const learnables = program.learnables.map((slot, k) =>
      this.addWeight(slot.name, slot.weightShape, 'float32', initializer(slot.definition.initializer, this.seed === undefined ? undefined : this.seed + k)),
    );
    this.state = { program, run: fusedLayerFunction(program), learnables };
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = single(inputShape);
    const [h, w, c] = (this.state?.program ?? this.programFor(inputShape)).outputSize;
    return shape.length === 2 ? [shape[0]!, h * w * c] : [shape[0]!, h, w, c];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const { program, run, learnables } = this.state!;
    const z = run(tf.reshape(x, [-1, ...program.inputSize]), learnables.map((v) => v.read()));
    return x.rank === 2 ? tf.reshape(z, [x.shape[0]!, -1]) : z;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), definition: escapeConfigText(JSON.stringify(this.definition)), definitionEncoding: configTextEncoding };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const { definition, definitionEncoding: _, ...rest } = config;
    const name = typeof config['name'] === 'string' ? config['name'] : 'custom layer';
    const parsed = definitionFromJson(JSON.parse(unescapeConfigText(String(definition))), `saved layer ${name}`);
    return new cls({ ...rest, definition: parsed });
  }

  private programFor(inputShape: tfl.Shape | tfl.Shape[]): LayerProgram {
    const programmed = programFor(this.definition, observationSize(single(inputShape), this.name));
    if (!programmed.ok) {
      const problems = programmed.errors.map(({ field, error }) => ({ path: field, message: `${this.name}: ${field}: ${error.message}` }));
      throw new ValidationError(`layer ${this.name}`, problems);
    }
    return programmed.program;
  }
}

tf.serialization.registerClass(CustomLayer, 'trainyard', 'Custom');

function single(shape: tfl.Shape | tfl.Shape[]): tfl.Shape {
  return (Array.isArray(shape[0]) ? shape[0] : shape) as tfl.Shape;
}

function observationSize(shape: tfl.Shape, layer: string): Size3 {
  const dims = shape.slice(1);
  if (dims.some((d) => typeof d !== 'number')) throw new Error(`layer ${layer}: needs a known input size, got [${shape.join(', ')}]`);
  if (dims.length === 3) return dims as Size3;
  if (dims.length === 1) return [1, 1, dims[0]!];
  throw new Error(`layer ${layer}: takes [N, h, w, c] or [N, k] inputs, not [${shape.join(', ')}]`);
}

function initializer(init: LearnableInitializer, seed: number | undefined): ReturnType<typeof tfl.initializers.zeros> {
  if (typeof init === 'number') return tfl.initializers.constant({ value: init });
  switch (init) {
    case 'rand':
      return tfl.initializers.randomUniform({ minval: 0, maxval: 1, seed });
    case 'glorot':
      return tfl.initializers.glorotUniform({ seed });
    case 'zeros':
      return tfl.initializers.zeros();
    case 'ones':
      return tfl.initializers.ones();
  }
}

/** The network layer as tfjs layers: what build.ts delegates to for type "custom". */
