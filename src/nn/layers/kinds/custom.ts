import { CustomLayer } from '../../custom/layer.js';
import { programFor } from '../../custom/program.js';
import { readCustomLayer } from '../../custom/validate.js';
import type { LayerKind } from '../kind.js';
import type { CustomLayerDefinition } from '../../custom/definition.js';

export interface CustomParams {
  definition: CustomLayerDefinition;
}

/** A layer the user defines with expressions: the language and its checks live in src/nn/custom/. */
export const custom: LayerKind<'custom'> = {
  type: 'custom',
  namePrefix: 'custom',
  read: (ctx) => readCustomLayer(ctx.f, ctx.input),
  learnables(spec) {
    const programmed = programFor(spec.definition, spec.inputSize);
    return programmed.ok ? programmed.program.learnables.map((slot) => ({ name: slot.name, weight: slot.name, shape: slot.weightShape })) : [];
  },
  build: (spec, seed) => ({ tfLayers: [new CustomLayer({ name: spec.name, definition: spec.definition, seed: seed(0) })] }),
};
