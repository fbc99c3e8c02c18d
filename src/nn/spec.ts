import { Fields } from './fields.js';
import { layerKinds, layerTypes, type LayerParams } from './layers/registry.js';
import { describe, isPlainObject, type Problem, type Validated } from './problems.js';
import type { Size3 } from './shapes.js';

/**
 * A network definition is data: `{"layers": [...]}` with MATLAB's layer names and parameters in
 * camelCase. `validateNetwork` is the one place that checks it; it fills every default, infers each
 * layer's output size and reports every problem with its JSON path. It is pure, so the API answers
 * 400 with it before queueing and the worker runs it again before training. What is particular to
 * one layer type (its fields, defaults, output size, learnables) is in its module under
 * layers/kinds/; this file checks the order of the layers, their names and the network's limits.
 */

export type { Size3 } from './shapes.js';
/** Top, bottom, left, right. */
export type Padding4 = [number, number, number, number];

export type Normalization = 'zerocenter' | 'zscore' | 'rescale-zero-one' | 'none';
export type WeightsInitializer = 'glorot' | 'he' | 'narrow-normal';
export type BiasInitializer = 'zeros' | 'ones' | 'narrow-normal';
export type AlphaInitializer = 'rand' | 'zeros' | 'ones' | number;

interface Common {
  name: string;
  /** Size of one observation going in and coming out, inferred by validation. */
  inputSize: Size3;
  outputSize: Size3;
  /** Learnable values this layer holds. */
  learnables: number;
}

/** One validated layer: what every layer has, and its type's own parameters (see layers/kinds/). */
export type Layer = { [T in keyof LayerParams]: Common & { type: T } & LayerParams[T] }[keyof LayerParams];

export type LayerType = Layer['type'];
export type LayerOf<T extends LayerType> = Extract<Layer, { type: T }>;

export interface Network {
  layers: Layer[];
  inputSize: Size3;
  numClasses: number;
  /** Class names given by the classification layer, or null to take the dataset's. */
  classes: string[] | null;
  learnables: number;
}

export interface NetworkLimits {
  /** Learnable values in the whole network. */
  maxLearnables: number;
  maxLayers: number;
  /** Largest height or width of an image input. */
  maxImageSide: number;
}

export const defaultNetworkLimits: NetworkLimits = { maxLearnables: 50_000_000, maxLayers: 200, maxImageSide: 4096 };

export { layerTypes } from './layers/registry.js';

/** What a layer name may be; custom/validate.ts checks a lone custom layer's name with it too. */
export const layerNameRule = { pattern: /^[A-Za-z][A-Za-z0-9_.-]*$/, patternText: 'a letter followed by letters, digits, _ . or -' };

export function validateNetwork(input: unknown, limits: NetworkLimits = defaultNetworkLimits): Validated<Network> {
  const problems: Problem[] = [];
  if (!isPlainObject(input)) {
    return { ok: false, problems: [{ path: '', message: `a network must be an object {"layers": [...]}, not ${describe(input)}` }] };
  }
  for (const key of Object.keys(input)) {
    if (key !== 'layers') problems.push({ path: key, message: `unknown field '${key}' (known: layers)` });
  }
  const rawLayers = input['layers'];
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) {
    problems.push({ path: 'layers', message: `layers must be a non-empty list of layers, not ${describe(rawLayers)}` });
    return { ok: false, problems };
  }
  if (rawLayers.length > limits.maxLayers) {
    problems.push({ path: 'layers', message: `the network has ${rawLayers.length} layers; the limit is ${limits.maxLayers}` });
    return { ok: false, problems };
  }

  const layers: Layer[] = [];
  const names = new Map<string, number>();
  const counters = new Map<LayerType, number>();
  let size: Size3 | null = null;
  let complete = true;
  let learnables = 0;
  /** The layer whose learnables took the count over the limit. */
  let overLimit: { index: number; type: LayerType; own: number; upTo: number } | null = null;

  rawLayers.forEach((raw, i) => {
    const path = `layers[${i}]`;
    if (!isPlainObject(raw)) {
      problems.push({ path, message: `${path}: a layer must be an object with a "type", not ${describe(raw)}` });
      complete = false;
      size = null;
      return;
    }
    const type = raw['type'];
    const kind = typeof type === 'string' ? layerKinds.get(type) : undefined;
    if (!kind) {
      const message =
        type === undefined
          ? `${path}: type is missing (known types: ${layerTypes.join(', ')})`
          : `${path}: unknown layer type ${describe(type)} (known types: ${layerTypes.join(', ')})`;
      problems.push({ path: `${path}.type`, message });
      complete = false;
      size = null;
      return;
    }
    const layerType = kind.type;
    const f = new Fields(raw, path, `${path} (${layerType})`, problems);
    f.raw('type');
    const count = (counters.get(layerType) ?? 0) + 1;
    counters.set(layerType, count);
    const name = f.string('name', layerNameRule) ?? `${kind.namePrefix}_${count}`;
    const clash = names.get(name);
    if (clash !== undefined) f.problem('name', `name "${name}" is already used by layers[${clash}]`);
    names.set(name, i);

    if (layerType === 'imageInput' && i !== 0) f.problem(null, 'imageInput must be the first layer, and there can be only one');
    if (i === 0 && layerType !== 'imageInput') f.problem('type', `the first layer must be imageInput, not ${layerType}`);
    if (layerType === 'classification' && i !== rawLayers.length - 1) f.problem(null, 'classification must be the last layer');
    if (layerType === 'classification' && (rawLayers[i - 1] as { type?: unknown } | undefined)?.type !== 'softmax') {
      f.problem(null, 'classification must come right after a softmax layer');
    }
    const current = size as Size3 | null;

    const reading = kind.read({ f, input: layerType === 'imageInput' ? null : current, limits });
    f.rejectUnknown();
    if (!reading) {
      complete = false;
      size = null;
      return;
    }
    learnables += reading.learnables;
    if (learnables > limits.maxLearnables && !overLimit) overLimit = { index: i, type: layerType, own: reading.learnables, upTo: learnables };
    size = reading.output;
    if (size === null || (current === null && layerType !== 'imageInput')) {
      complete = false;
      return;
    }
    layers.push({
      type: layerType,
      name,
      inputSize: layerType === 'imageInput' ? size : current!,
      outputSize: size,
      learnables: reading.learnables,
      ...reading.params,
    } as Layer);
  });

  const last = layers.at(-1);
  if (rawLayers.length > 0 && (rawLayers.at(-1) as { type?: unknown })?.type !== 'classification') {
    problems.push({ path: `layers[${rawLayers.length - 1}]`, message: 'the last layer must be classification (after softmax)' });
  }
  if (overLimit) {
    const { index, type, own, upTo } = overLimit;
    const n = (x: number) => x.toLocaleString('en-US');
    problems.push({
      path: `layers[${index}]`,
      message:
        `layers[${index}] (${type}): its ${n(own)} learnable parameters bring the network to ${n(upTo)}` +
        `${upTo === learnables ? '' : ` (${n(learnables)} in all)`}; the limit is ${n(limits.maxLearnables)}`,
    });
  }
  if (problems.length > 0 || !complete || !last || last.type !== 'classification') {
    return { ok: false, problems: problems.length > 0 ? problems : [{ path: 'layers', message: 'the network is incomplete' }] };
  }
  const first = layers[0]!;
  return {
    ok: true,
    value: { layers, inputSize: first.outputSize, numClasses: last.outputSize[2], classes: last.classes, learnables },
  };
}

/** Problems that keep a valid network from training on data of this image size and class count. */
export function problemsWithData(network: Network, size: Size3, numClasses: number, datasetName: string): Problem[] {
  const problems: Problem[] = [];
  const [h, w, c] = network.inputSize;
  if (h !== size[0] || w !== size[1] || c !== size[2]) {
    problems.push({
      path: 'layers[0].inputSize',
      message: `layers[0] (imageInput): inputSize [${h}, ${w}, ${c}] does not match dataset ${datasetName}'s ${size.join('x')} images`,
    });
  }
  if (network.numClasses !== numClasses) {
    const last = network.layers.length - 1;
    problems.push({
      path: `layers[${last}]`,
      message: `layers[${last}] (classification): the network has ${network.numClasses} outputs but dataset ${datasetName} has ${numClasses} classes`,
    });
  }
  return problems;
}
