import { Fields } from './fields.js';
import { wireLayers } from './graph.js';
import type { LayerKind } from './layers/kind.js';
import { checkFactors, readFactors, type LearnableFactors } from './learn-factors.js';
import { layerKinds, layerTypes, type LayerParams } from './layers/registry.js';
import { describe, isPlainObject, type Problem, type Validated } from './problems.js';
import type { Size3 } from './shapes.js';

/**
 * A network definition is data: `{"layers": [...]}` with MATLAB's layer names and parameters in
 * camelCase. `validateNetwork` is the one place that checks it; it fills every default, infers each
 * layer's output size and reports every problem with its JSON path. It is pure, so the API answers
 * 400 with it before queueing and the worker runs it again before training. What is particular to
 * one layer type (its fields, defaults, output size, learnables) is in its module under
 * layers/kinds/; how layers are wired (a chain, or a graph with `connections`) is in graph.ts; this
 * file checks the layers' places, their names, each input against the number a layer takes, and
 * the network's limits, reading the layers in the order of their inputs so sizes follow every path.
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
  /** The names of the layers feeding it, in1 first (none for the image input). */
  inputs: string[];
  /** Size of one observation going in (in1's) and coming out, inferred by validation. */
  inputSize: Size3;
  outputSize: Size3;
  /** Learnable values this layer holds. */
  learnables: number;
  /** The learn-rate and L2 factors it gives its learnables (learn-factors.ts); absent when it gives none. */
  factors?: LearnableFactors[];
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
    if (key !== 'layers' && key !== 'connections') problems.push({ path: key, message: `unknown field '${key}' (known: layers, connections)` });
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
  const rawConnections = Object.hasOwn(input, 'connections') ? input['connections'] : undefined;
  const graph = rawConnections !== undefined;

  const heads = rawLayers.map((raw, i) => readHead(raw, i, rawLayers.length, graph, problems));
  nameLayers(heads);
  const wiring = wireLayers(
    heads.map((h, i) => ({ name: h?.name ?? rawName(rawLayers[i]), type: h?.type ?? null })),
    rawConnections,
    maxConnectionsPerLayer * limits.maxLayers,
    problems,
  );
  checkSingle(heads, 'imageInput', 'image input', problems);
  checkSingle(heads, 'classification', 'classification output', problems);

  const read = new Map<number, Layer>();
  let complete = heads.every((h) => h !== null);
  let learnables = 0;
  /** The layer whose learnables took the count over the limit. */
  let overLimit: { index: number; type: LayerType; own: number; upTo: number } | null = null;

  for (const i of wiring.order) {
    const head = heads[i];
    if (!head) continue;
    const { kind, f, name } = head;
    // Array.from, not map: an input not connected is a hole in sources, and must be null here.
    const inputs = Array.from(wiring.sources[i]!, (s) => (s === undefined ? null : (read.get(s)?.outputSize ?? null)));
    const input = head.type === 'imageInput' ? null : (inputs[0] ?? null);
    const reading = kind.read({ f, input, inputs, limits });
    const factors = readFactors(f);
    f.rejectUnknown();
    if (!reading) {
      complete = false;
      continue;
    }
    const arity = kind.inputCount?.(reading.params) ?? 1;
    const wired = checkInputs(head, arity, wiring.sources[i]!, wiring.given[i]!, graph, problems);
    const first = wiring.sources[i]![0];
    if (head.type === 'classification' && first !== undefined && heads[first]?.type !== 'softmax') {
      f.problem(null, 'classification must come right after a softmax layer');
    }
    if (graph && head.type !== 'classification' && wiring.uses[i] === 0) {
      f.problem(null, `its output goes nowhere: connect "${name}" to a layer, or remove it`);
    }
    learnables += reading.learnables;
    if (learnables > limits.maxLearnables && !overLimit) overLimit = { index: i, type: head.type, own: reading.learnables, upTo: learnables };
    const output = reading.output;
    if (!wired || output === null || (input === null && head.type !== 'imageInput')) {
      complete = false;
      continue;
    }
    const layer = {
      type: head.type,
      name,
      inputs: wiring.sources[i]!.slice(0, arity).map((s) => heads[s!]!.name),
      inputSize: head.type === 'imageInput' ? output : input!,
      outputSize: output,
      learnables: reading.learnables,
      ...reading.params,
    } as Layer;
    const checked = checkFactors(f, layer, factors);
    read.set(i, checked ? { ...layer, factors: checked } : layer);
  }

  const outputIndex = heads.findIndex((h) => h?.type === 'classification');
  if (!graph && (rawLayers.at(-1) as { type?: unknown })?.type !== 'classification') {
    problems.push({ path: `layers[${rawLayers.length - 1}]`, message: 'the last layer must be classification (after softmax)' });
  } else if (graph && outputIndex < 0 && heads.every((h) => h !== null)) {
    problems.push({ path: 'layers', message: 'the network has no classification layer: it must end in softmax, then classification' });
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
  const output = read.get(outputIndex);
  if (problems.length > 0 || !complete || read.size < heads.length || output?.type !== 'classification') {
    return { ok: false, problems: problems.length > 0 ? problems : [{ path: 'layers', message: 'the network is incomplete' }] };
  }
  const layers = heads.map((_, i) => read.get(i)!);
  return {
    ok: true,
    value: { layers, inputSize: layers[0]!.outputSize, numClasses: output.outputSize[2], classes: output.classes, learnables },
  };
}

/** Connections per layer a network may have, on average (the limit is this times maxLayers). */
const maxConnectionsPerLayer = 4;

/** What validation knows of a layer before its fields are read: its type, module, name and field reader. */
interface Head {
  index: number;
  type: LayerType;
  kind: LayerKind;
  name: string;
  f: Fields;
}

/** Reads a layer's type and name and checks its place in the list; null when it has no known type. */
function readHead(raw: unknown, i: number, count: number, graph: boolean, problems: Problem[]): Head | null {
  const path = `layers[${i}]`;
  if (!isPlainObject(raw)) {
    problems.push({ path, message: `${path}: a layer must be an object with a "type", not ${describe(raw)}` });
    return null;
  }
  const type = raw['type'];
  const kind = typeof type === 'string' ? layerKinds.get(type) : undefined;
  if (!kind) {
    const message =
      type === undefined
        ? `${path}: type is missing (known types: ${layerTypes.join(', ')})`
        : `${path}: unknown layer type ${describe(type)} (known types: ${layerTypes.join(', ')})`;
    problems.push({ path: `${path}.type`, message });
    return null;
  }
  const f = new Fields(raw, path, `${path} (${kind.type})`, problems);
  f.raw('type');
  if (i === 0 && kind.type !== 'imageInput') f.problem('type', `the first layer must be imageInput, not ${kind.type}`);
  if (!graph && kind.type === 'classification' && i !== count - 1) f.problem(null, 'classification must be the last layer');
  return { index: i, type: kind.type, kind, name: f.string('name', layerNameRule) ?? '', f };
}

/** Names each unnamed layer as MATLAB does (conv_1, conv_2, ... by type, in list order) and reports a name used twice. */
function nameLayers(heads: (Head | null)[]): void {
  const names = new Map<string, number>();
  const counters = new Map<LayerType, number>();
  for (const head of heads) {
    if (!head) continue;
    const count = (counters.get(head.type) ?? 0) + 1;
    counters.set(head.type, count);
    if (head.name === '') head.name = `${head.kind.namePrefix}_${count}`;
    const clash = names.get(head.name);
    if (clash !== undefined) head.f.problem('name', `name "${head.name}" is already used by layers[${clash}]`);
    else names.set(head.name, head.index);
  }
}

/** A raw layer's given name, so that connections to a layer with other problems do not add "no layer named" ones. */
function rawName(raw: unknown): string | null {
  return isPlainObject(raw) && typeof raw['name'] === 'string' ? raw['name'] : null;
}

/** Reports a second layer of a type trainyard supports once (one image input, one classification output). */
function checkSingle(heads: (Head | null)[], type: LayerType, what: string, problems: Problem[]): void {
  const found = heads.filter((h) => h?.type === type).map((h) => `layers[${h!.index}]`);
  if (found.length <= 1) return;
  problems.push({
    path: found[1]!,
    message: `the network has ${found.length} ${type} layers (${found.join(', ')}); trainyard supports one ${what} per network`,
  });
}

/** Checks each input of a layer against the number it takes: none left unconnected, none beyond. */
function checkInputs(head: Head, arity: number, sources: (number | undefined)[], given: (string | null)[], graph: boolean, problems: Problem[]): boolean {
  let ok = true;
  given.forEach((where, k) => {
    if (k < arity || where === undefined) return;
    ok = false;
    const takes = arity === 0 ? 'takes no input' : arity === 1 ? 'takes one input' : `takes ${arity} inputs (in1 to in${arity})`;
    if (where === null) return; // the list order never feeds a layer that takes nothing (wireLayers skips imageInput)
    problems.push({ path: `${where}.to`, message: `${where}: ${head.name} (${head.type}) ${takes}; there is no in${k + 1}` });
  });
  for (let k = 0; k < arity; k++) {
    if (sources[k] !== undefined) continue;
    ok = false;
    const input = arity === 1 ? 'its input is' : `input in${k + 1} is`;
    const how = arity === 1 ? `"${head.name}"` : `"${head.name}/in${k + 1}"`;
    if (graph || k > 0) head.f.problem(null, `${input} not connected: add a connection to ${how}`);
  }
  return ok;
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
    // In a graph the output need not be listed last.
    const output = network.layers.findIndex((layer) => layer.type === 'classification');
    problems.push({
      path: `layers[${output}]`,
      message: `layers[${output}] (classification): the network has ${network.numClasses} outputs but dataset ${datasetName} has ${numClasses} classes`,
    });
  }
  return problems;
}
