import path from 'node:path';
import type { BackendPreference } from './nn/backend.js';
import type { OptionLimits } from './nn/options.js';
import type { NetworkLimits } from './nn/spec.js';

/**
 * All configuration, built once from the environment at start and passed down; nothing else reads
 * process.env. Every variable is listed in `configVariables` (with its default and meaning), which
 * is also what the README's configuration table is checked against.
 */
export interface Config {
  backend: BackendPreference;
  dataDir: string;
  networkLimits: NetworkLimits;
  optionLimits: OptionLimits;
}

interface Variable<K extends string> {
  name: string;
  default: string;
  doc: string;
  parse: (raw: string, name: string) => unknown;
  key: K;
}

const oneOf =
  (...values: string[]) =>
  (raw: string, name: string) => {
    if (!values.includes(raw)) throw new Error(`${name} must be one of ${values.join(', ')}, not '${raw}'`);
    return raw;
  };

const positiveInt = (raw: string, name: string) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not '${raw}'`);
  return n;
};

const text = (raw: string, name: string) => {
  if (raw.trim() === '') throw new Error(`${name} must not be empty`);
  return raw;
};

export const configVariables = [
  { key: 'backend', name: 'TRAINYARD_BACKEND', default: 'auto', parse: oneOf('auto', 'tensorflow', 'wasm', 'cpu'), doc: 'tfjs backend: auto (tfjs-node-gpu, tfjs-node, then wasm), tensorflow, wasm or cpu (slow; only when named)' },
  { key: 'dataDir', name: 'DATA_DIR', default: './data', parse: text, doc: 'folder for models and datasets' },
  { key: 'maxLearnables', name: 'MAX_LEARNABLES', default: '50000000', parse: positiveInt, doc: 'most learnable parameters a network may have' },
  { key: 'maxLayers', name: 'MAX_LAYERS', default: '200', parse: positiveInt, doc: 'most layers a network may have' },
  { key: 'maxImageSide', name: 'MAX_IMAGE_SIDE', default: '4096', parse: positiveInt, doc: 'largest height or width of an image input' },
  { key: 'maxEpochs', name: 'MAX_EPOCHS', default: '1000', parse: positiveInt, doc: 'largest maxEpochs a job may ask for' },
  { key: 'maxMiniBatchSize', name: 'MAX_MINI_BATCH_SIZE', default: '4096', parse: positiveInt, doc: 'largest miniBatchSize a job may ask for' },
] as const satisfies readonly Variable<string>[];

type Key = (typeof configVariables)[number]['key'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and checks every variable; throws one ConfigError naming all the bad ones. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const values = {} as Record<Key, unknown>;
  for (const v of configVariables) {
    const raw = env[v.name] ?? v.default;
    try {
      values[v.key] = v.parse(raw, v.name);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const get = <T>(key: Key) => values[key] as T;
  return {
    backend: get<BackendPreference>('backend'),
    dataDir: path.resolve(get<string>('dataDir')),
    networkLimits: { maxLearnables: get('maxLearnables'), maxLayers: get('maxLayers'), maxImageSide: get('maxImageSide') },
    optionLimits: { maxEpochs: get('maxEpochs'), maxMiniBatchSize: get('maxMiniBatchSize') },
  };
}
