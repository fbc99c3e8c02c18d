import type { CustomLayerDefinition } from './custom/definition.js';
import { readCustomLayer } from './custom/validate.js';
import { Fields } from './fields.js';
import { describe, isPlainObject, type Problem, type Validated } from './problems.js';
import type { Size3 } from './shapes.js';

/**
 * A network definition is data: `{"layers": [...]}` with MATLAB's layer names and parameters in
 * camelCase. `validateNetwork` is the one place that checks it; it fills every default, infers each
 * layer's output size and reports every problem with its JSON path. It is pure, so the API answers
 * 400 with it before queueing and the worker runs it again before training.
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

export type Layer = Common &
  (
    | { type: 'imageInput'; normalization: Normalization }
    | {
        type: 'convolution2d';
        filterSize: [number, number];
        numFilters: number;
        stride: [number, number];
        /** 'same' is resolved to explicit numbers here, the way MATLAB does it (extra on bottom/right). */
        padding: Padding4;
        dilationFactor: [number, number];
        weightsInitializer: WeightsInitializer;
        biasInitializer: BiasInitializer;
      }
    | { type: 'batchNormalization'; epsilon: number }
    | { type: 'elu'; alpha: number; learnable: boolean; perChannel: boolean; alphaInitializer: AlphaInitializer }
    | { type: 'relu' | 'tanh' | 'softmax' | 'globalAveragePooling2d' }
    | { type: 'leakyRelu'; scale: number }
    | { type: 'clippedRelu'; ceiling: number }
    | { type: 'maxPooling2d' | 'averagePooling2d'; poolSize: [number, number]; stride: [number, number]; padding: Padding4 }
    | { type: 'fullyConnected'; weightsInitializer: WeightsInitializer; biasInitializer: BiasInitializer }
    | { type: 'dropout'; probability: number }
    | { type: 'classification'; classes: string[] | null }
    /** A layer the user defines with expressions (src/nn/custom/). */
    | { type: 'custom'; definition: CustomLayerDefinition }
  );

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

export const layerTypes = [
  'imageInput',
  'convolution2d',
  'batchNormalization',
  'elu',
  'relu',
  'leakyRelu',
  'clippedRelu',
  'tanh',
  'maxPooling2d',
  'averagePooling2d',
  'globalAveragePooling2d',
  'fullyConnected',
  'dropout',
  'softmax',
  'classification',
  'custom',
] as const satisfies readonly LayerType[];

const weightsInitializers = ['glorot', 'he', 'narrow-normal'] as const;
const biasInitializers = ['zeros', 'ones', 'narrow-normal'] as const;
/** What a layer name may be; custom/validate.ts checks a lone custom layer's name with it too. */
export const layerNameRule = { pattern: /^[A-Za-z][A-Za-z0-9_.-]*$/, patternText: 'a letter followed by letters, digits, _ . or -' };

/** MATLAB's short default names: conv_1, batchnorm_1, ... */
const defaultNamePrefix: Record<LayerType, string> = {
  imageInput: 'imageinput',
  convolution2d: 'conv',
  batchNormalization: 'batchnorm',
  elu: 'elu',
  relu: 'relu',
  leakyRelu: 'leakyrelu',
  clippedRelu: 'clippedrelu',
  tanh: 'tanh',
  maxPooling2d: 'maxpool',
  averagePooling2d: 'avgpool',
  globalAveragePooling2d: 'gapool',
  fullyConnected: 'fc',
  dropout: 'dropout',
  softmax: 'softmax',
  classification: 'classoutput',
  custom: 'custom',
};

function sizeText([h, w]: Size3): string {
  return `${h}x${w}`;
}

/** Everything one layer's reader needs: its fields, its input size (null when unknown upstream). */
interface LayerContext {
  f: Fields;
  input: Size3 | null;
}

/** A layer's own parameters and its output size; null output means it could not be inferred. */
type LayerReading = { params: Record<string, unknown>; output: Size3 | null; learnables: number } | null;

/** numChannels is optional (MATLAB's 'auto'); when given it must agree with the inferred input. */
function readChannels(ctx: LayerContext): void {
  if (ctx.f.has('numChannels') && ctx.f.raw('numChannels') === 'auto') return;
  const n = ctx.f.optionalInt('numChannels');
  if (typeof n === 'number' && ctx.input && n !== ctx.input[2]) {
    ctx.f.problem('numChannels', `numChannels ${n} does not match its ${ctx.input[2]} input channels`);
  }
}

function readPadding(ctx: LayerContext, window: [number, number] | undefined, stride: [number, number] | undefined): Padding4 | undefined {
  const { f, input } = ctx;
  const v = f.raw('padding');
  if (v === undefined) return [0, 0, 0, 0];
  if (v === 'same') {
    if (!input || !window || !stride) return undefined;
    // MATLAB 'same': output = ceil(input / stride); an odd total goes to the bottom and right.
    const total = (i: 0 | 1) => Math.max(0, (Math.ceil(input[i] / stride[i]) - 1) * stride[i] + window[i] - input[i]);
    const [th, tw] = [total(0), total(1)];
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
  }
  if (typeof v === 'number') {
    const n = f.checkInt('padding', v, 0);
    return n === undefined ? undefined : [n, n, n, n];
  }
  if (Array.isArray(v) && (v.length === 2 || v.length === 4)) {
    const nums = v.map((x) => f.checkInt('padding', x, 0));
    if (nums.some((x) => x === undefined)) return undefined;
    const [a, b, c, d] = nums as number[];
    return v.length === 2 ? [a!, a!, b!, b!] : [a!, b!, c!, d!];
  }
  f.problem('padding', `padding must be "same", an integer, [vertical, horizontal] or [top, bottom, left, right], not ${describe(v)}`);
  return undefined;
}

/** Output size of a sliding window (convolution or pooling), or a problem if the window does not fit. */
function slide(
  ctx: LayerContext,
  key: string,
  window: [number, number],
  stride: [number, number],
  padding: Padding4,
  channels: number,
): Size3 | null {
  const input = ctx.input!;
  const paddedH = input[0] + padding[0] + padding[1];
  const paddedW = input[1] + padding[2] + padding[3];
  if (window[0] > paddedH || window[1] > paddedW) {
    const shown = window[0] === window[1] ? `${window[0]}` : `[${window[0]}, ${window[1]}]`;
    const padded = paddedH === input[0] && paddedW === input[1] ? '' : ` (${paddedH}x${paddedW} padded)`;
    const effective = key === 'filterSize' && ctx.f.has('dilationFactor') ? ' (dilated)' : '';
    ctx.f.problem(key, `${key} ${shown}${effective} is larger than its ${sizeText(input)} input${padded}`);
    return null;
  }
  return [Math.floor((paddedH - window[0]) / stride[0]) + 1, Math.floor((paddedW - window[1]) / stride[1]) + 1, channels];
}

const readers: Record<LayerType, (ctx: LayerContext, limits: NetworkLimits) => LayerReading> = {
  imageInput({ f }, limits) {
    const raw = f.raw('inputSize');
    const normalization = f.oneOf('normalization', ['zerocenter', 'zscore', 'rescale-zero-one', 'none'] as const, 'zerocenter');
    let size: Size3 | null = null;
    if (raw === undefined) f.problem('inputSize', 'inputSize is required: [height, width, channels]');
    else if (!Array.isArray(raw) || (raw.length !== 2 && raw.length !== 3)) {
      f.problem('inputSize', `inputSize must be [height, width] or [height, width, channels], not ${describe(raw)}`);
    } else {
      const dims = raw.map((x) => f.checkInt('inputSize', x, 1, limits.maxImageSide));
      if (dims.every((x) => x !== undefined)) size = [dims[0]!, dims[1]!, dims[2] ?? 1];
    }
    return normalization && size ? { params: { normalization }, output: size, learnables: 0 } : null;
  },

  convolution2d(ctx) {
    const { f } = ctx;
    const filterSize = f.pair('filterSize');
    const numFilters = f.int('numFilters');
    const stride = f.pair('stride', { default: [1, 1] });
    const dilationFactor = f.pair('dilationFactor', { default: [1, 1] });
    const weightsInitializer = f.oneOf('weightsInitializer', weightsInitializers, 'glorot');
    const biasInitializer = f.oneOf('biasInitializer', biasInitializers, 'zeros');
    readChannels(ctx);
    const effective: [number, number] | undefined =
      filterSize && dilationFactor
        ? [(filterSize[0] - 1) * dilationFactor[0] + 1, (filterSize[1] - 1) * dilationFactor[1] + 1]
        : undefined;
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

  batchNormalization(ctx) {
    const epsilon = ctx.f.number('epsilon', { default: 1e-5, min: 1e-10 });
    readChannels(ctx);
    if (epsilon === undefined) return null;
    return { params: { epsilon }, output: ctx.input, learnables: ctx.input ? 2 * ctx.input[2] : 0 };
  },

  elu(ctx) {
    const { f } = ctx;
    const alpha = f.number('alpha', { default: 1, min: 0 });
    const learnable = f.bool('learnable', true);
    const perChannel = f.bool('perChannel', true);
    let alphaInitializer: AlphaInitializer | undefined = 'rand';
    const rawInit = f.raw('alphaInitializer');
    if (typeof rawInit === 'number' && Number.isFinite(rawInit)) alphaInitializer = rawInit;
    else if (rawInit !== undefined) alphaInitializer = f.oneOf('alphaInitializer', ['rand', 'zeros', 'ones'] as const);
    if (learnable === false && rawInit !== undefined) {
      f.problem('alphaInitializer', 'alphaInitializer only applies to a learnable alpha; set alpha for a fixed one');
    }
    readChannels(ctx);
    if (alpha === undefined || learnable === undefined || perChannel === undefined || alphaInitializer === undefined) return null;
    const learnables = learnable && ctx.input ? (perChannel ? ctx.input[2] : 1) : 0;
    return { params: { alpha, learnable, perChannel, alphaInitializer }, output: ctx.input, learnables };
  },

  relu: (ctx) => ({ params: {}, output: ctx.input, learnables: 0 }),
  tanh: (ctx) => ({ params: {}, output: ctx.input, learnables: 0 }),

  leakyRelu(ctx) {
    const scale = ctx.f.number('scale', { default: 0.01 });
    return scale === undefined ? null : { params: { scale }, output: ctx.input, learnables: 0 };
  },

  clippedRelu(ctx) {
    const ceiling = ctx.f.number('ceiling', { min: 0, exclusiveMin: true });
    return ceiling === undefined ? null : { params: { ceiling }, output: ctx.input, learnables: 0 };
  },

  maxPooling2d: readPooling,
  averagePooling2d: readPooling,

  globalAveragePooling2d: (ctx) => ({ params: {}, output: ctx.input && [1, 1, ctx.input[2]], learnables: 0 }),

  fullyConnected(ctx) {
    const { f, input } = ctx;
    const outputSize = f.int('outputSize');
    const weightsInitializer = f.oneOf('weightsInitializer', weightsInitializers, 'glorot');
    const biasInitializer = f.oneOf('biasInitializer', biasInitializers, 'zeros');
    if (!outputSize || !weightsInitializer || !biasInitializer) return null;
    const learnables = input ? input[0] * input[1] * input[2] * outputSize + outputSize : 0;
    return { params: { weightsInitializer, biasInitializer }, output: [1, 1, outputSize], learnables };
  },

  dropout(ctx) {
    const probability = ctx.f.number('probability', { default: 0.5, min: 0, max: 1, exclusiveMax: true });
    return probability === undefined ? null : { params: { probability }, output: ctx.input, learnables: 0 };
  },

  softmax(ctx) {
    if (ctx.input && (ctx.input[0] !== 1 || ctx.input[1] !== 1)) {
      ctx.f.problem(null, `softmax needs a 1x1xK input (put a fullyConnected or globalAveragePooling2d layer before it), not ${ctx.input.join('x')}`);
      return null;
    }
    return { params: {}, output: ctx.input, learnables: 0 };
  },

  classification(ctx) {
    const { f, input } = ctx;
    const raw = f.raw('classes');
    let classes: string[] | null = null;
    if (raw !== undefined) {
      const ok =
        Array.isArray(raw) &&
        raw.length >= 2 &&
        raw.every((c) => typeof c === 'string' && c.length > 0 && c.length <= 64) &&
        new Set(raw).size === raw.length;
      if (!ok) f.problem('classes', 'classes must be a list of at least 2 distinct names of 1 to 64 characters');
      else classes = raw as string[];
    }
    if (input && classes && classes.length !== input[2]) {
      f.problem('classes', `classes names ${classes.length} classes but its input has ${input[2]}`);
    }
    if (input && input[2] < 2) f.problem(null, `classification needs at least 2 classes, its input has ${input[2]}`);
    return { params: { classes }, output: input, learnables: 0 };
  },

  custom: (ctx) => readCustomLayer(ctx.f, ctx.input),
};

function readPooling(ctx: LayerContext): LayerReading {
  const { f } = ctx;
  const poolSize = f.pair('poolSize');
  const stride = f.pair('stride', { default: poolSize ?? [1, 1] });
  const padding = readPadding(ctx, poolSize, stride);
  if (!poolSize || !stride || !padding) return null;
  if (padding[0] >= poolSize[0] || padding[1] >= poolSize[0] || padding[2] >= poolSize[1] || padding[3] >= poolSize[1]) {
    f.problem('padding', `padding [${padding.join(', ')}] must be smaller than poolSize [${poolSize.join(', ')}] on each side`);
    return null;
  }
  const params = { poolSize, stride, padding };
  if (!ctx.input) return { params, output: null, learnables: 0 };
  return { params, output: slide(ctx, 'poolSize', poolSize, stride, padding, ctx.input[2]), learnables: 0 };
}

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

  rawLayers.forEach((raw, i) => {
    const path = `layers[${i}]`;
    if (!isPlainObject(raw)) {
      problems.push({ path, message: `${path}: a layer must be an object with a "type", not ${describe(raw)}` });
      complete = false;
      size = null;
      return;
    }
    const type = raw['type'];
    if (typeof type !== 'string' || !(layerTypes as readonly string[]).includes(type)) {
      const message =
        type === undefined
          ? `${path}: type is missing (known types: ${layerTypes.join(', ')})`
          : `${path}: unknown layer type ${describe(type)} (known types: ${layerTypes.join(', ')})`;
      problems.push({ path: `${path}.type`, message });
      complete = false;
      size = null;
      return;
    }
    const layerType = type as LayerType;
    const f = new Fields(raw, path, `${path} (${layerType})`, problems);
    f.raw('type');
    const count = (counters.get(layerType) ?? 0) + 1;
    counters.set(layerType, count);
    const name = f.string('name', layerNameRule) ??
      `${defaultNamePrefix[layerType]}_${count}`;
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

    const reading = readers[layerType]({ f, input: layerType === 'imageInput' ? null : current }, limits);
    f.rejectUnknown();
    if (!reading) {
      complete = false;
      size = null;
      return;
    }
    learnables += reading.learnables;
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
  if (learnables > limits.maxLearnables) {
    problems.push({
      path: 'layers',
      message: `the network has ${learnables.toLocaleString('en-US')} learnable parameters; the limit is ${limits.maxLearnables.toLocaleString('en-US')}`,
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
