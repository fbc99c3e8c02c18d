import { Fields } from '../fields.js';
import { describe, isPlainObject, ValidationError, type Problem, type Validated } from '../problems.js';
import { layerNameRule, type LayerOf, type Size3 } from '../spec.js';
import { readDefinition, type CustomLayerDefinition } from './definition.js';
import { programFor } from './program.js';

/** A custom layer as validation leaves it: the network's layer entry for type "custom". */
export type CustomLayerSpec = LayerOf<'custom'>;

/**
 * The custom layer's part of validateNetwork: reads the definition, checks its expressions against
 * the input size and infers the output size. Each problem is recorded on `f` with the path of the
 * field, e.g. `layers[3].forward`: "layers[3] (custom): forward: unknown name 'alpah' at column 24
 * (known: x, alpha)". With no input size (an earlier layer is wrong) only what does not depend on
 * it is checked.
 */
export function readCustomLayer(
  f: Fields,
  input: Size3 | null,
): { params: { definition: CustomLayerDefinition }; output: Size3 | null; learnables: number } | null {
  const definition = readDefinition(f);
  if (!definition) return null;
  const programmed = programFor(definition, input ?? [1, 1, 1]);
  const errors = programmed.ok ? [] : programmed.errors.filter((e) => input !== null || e.error.kind !== 'shape');
  for (const { field, error } of errors) f.problem(field, `${field}: ${error.message}`);
  if (errors.length > 0) return null;
  if (input === null || !programmed.ok) return { params: { definition }, output: null, learnables: 0 };
  const { program } = programmed;
  const learnables = program.learnables.reduce((n, l) => n + l.weightShape.reduce((a, b) => a * b, 1), 0);
  return { params: { definition }, output: program.outputSize, learnables };
}

/** One custom layer on its own, for an input of `inputSize`: what the layer check validates. Paths start at `path`. */
export function validateCustomLayer(json: unknown, inputSize: Size3, path = 'layer'): Validated<CustomLayerSpec> {
  const problems: Problem[] = [];
  if (!isPlainObject(json)) return { ok: false, problems: [{ path, message: `${path}: a custom layer must be an object {"type": "custom", ...}, not ${describe(json)}` }] };
  const f = new Fields(json, path, path, problems);
  if (f.raw('type') !== 'custom') f.problem('type', `type must be "custom", not ${describe(json['type'])}`);
  const name = f.string('name', layerNameRule) ?? 'custom_1';
  const reading = readCustomLayer(f, inputSize);
  f.rejectUnknown();
  if (!reading || !reading.output || problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: { type: 'custom', name, inputs: [], inputSize, outputSize: reading.output, learnables: reading.learnables, ...reading.params },
  };
}

/** A definition read back from a saved model: the same structural checks, thrown as one error. */
export function definitionFromJson(json: unknown, what: string): CustomLayerDefinition {
  const problems: Problem[] = [];
  if (!isPlainObject(json)) throw new ValidationError(what, [{ path: what, message: `${what}: the definition is ${describe(json)}, not an object` }]);
  const f = new Fields(json, what, what, problems);
  const definition = readDefinition(f);
  f.rejectUnknown();
  if (!definition || problems.length > 0) throw new ValidationError(what, problems);
  return definition;
}
