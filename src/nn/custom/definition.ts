import type { Fields } from '../fields.js';
import { describe, isPlainObject } from '../problems.js';
import type { Size3 } from '../spec.js';
import { functions } from './language.js';

/**
 * A user-defined layer as data, the way it is submitted and the way it is stored in a saved model
 * (defaults filled in):
 *
 *   {"type": "custom", "name": "myElu",
 *    "learnables": {"alpha": {"shape": "perChannel", "initializer": "rand"}},
 *    "forward": "x > 0 ? x : alpha * (exp(min(x, 0)) - 1)",
 *    "backward": {"x": "dz * ((x > 0) + (alpha + z) * (x <= 0))",
 *                 "alpha": "sum(dz * (exp(min(x, 0)) - 1), \"spatial+batch\")"}}
 *
 * This module reads the JSON's structure; what the expressions say is checked by program.ts.
 */
export type LearnableShape = 'perChannel' | 'scalar' | number[];
export type LearnableInitializer = 'rand' | 'zeros' | 'ones' | 'glorot' | number;

export interface LearnableDefinition {
  /** One value per channel (the last axis), one for the layer, or explicit extents aligned to [height, width, channels] from the right. */
  shape: LearnableShape;
  /** "rand" is uniform in [0, 1), the seed's alpha. */
  initializer: LearnableInitializer;
}

export interface CustomLayerDefinition {
  learnables: Record<string, LearnableDefinition>;
  forward: string;
  /** dL/dx and dL/d(each learnable), or null for tfjs's automatic differentiation of the forward. */
  backward: Record<string, string> | null;
  /** The output size the user expects; checked against the one the forward gives. */
  outputSize: Size3 | null;
}

/** Names with a meaning of their own: the input, the output and its gradient (in backward). */
export const inputName = 'x';
export const outputName = 'z';
export const outputGradientName = 'dz';
const reservedNames = new Set([inputName, outputName, outputGradientName, ...functions.keys()]);
/** constructor, toString, __proto__, ...: as keys they would find what every object inherits. */
const builtInObjectNames = new Set(Object.getOwnPropertyNames(Object.prototype));
const learnableNamePattern = /^[A-Za-z_][A-Za-z0-9_]{0,31}$/;
const maxLearnablesPerLayer = 16;

const learnableShapes = ['perChannel', 'scalar'] as const;
const learnableInitializers = ['rand', 'zeros', 'ones', 'glorot'] as const;

/** Reads a custom layer's fields (all but type and name), recording every problem on `f`. */
export function readDefinition(f: Fields): CustomLayerDefinition | undefined {
  const learnables = readLearnables(f);
  const forward = f.raw('forward');
  if (typeof forward !== 'string') f.problem('forward', `forward must be an expression in a string, not ${describe(forward)}`);
  const backward = readBackward(f, learnables ? Object.keys(learnables) : null);
  const outputSize = readOutputSize(f);
  if (!learnables || typeof forward !== 'string' || backward === undefined || outputSize === undefined) return undefined;
  return { learnables, forward, backward, outputSize };
}

function readLearnables(f: Fields): Record<string, LearnableDefinition> | undefined {
  const raw = f.raw('learnables');
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) {
    f.problem('learnables', `learnables must be an object {"name": {"shape": ..., "initializer": ...}}, not ${describe(raw)}`);
    return undefined;
  }
  const names = Object.keys(raw);
  if (names.length > maxLearnablesPerLayer) {
    f.problem('learnables', `a custom layer may have at most ${maxLearnablesPerLayer} learnables, not ${names.length}`);
    return undefined;
  }
  const read = names.map((name) => readLearnable(f, name, raw[name]));
  if (read.some((r) => r === undefined)) return undefined;
  return Object.fromEntries(names.map((name, i) => [name, read[i]!]));
}

function readLearnable(f: Fields, name: string, raw: unknown): LearnableDefinition | undefined {
  const key = `learnables.${name}`;
  let ok = true;
  const problem = (field: string | null, sentence: string) => {
    f.problem(field === null ? key : `${key}.${field}`, sentence);
    ok = false;
  };
  if (!learnableNamePattern.test(name)) problem(null, `learnable name '${name}' must be a letter or _ followed by up to 31 letters, digits or _`);
  else if (reservedNames.has(name)) problem(null, `'${name}' is reserved (x, z, dz and the function names); name the learnable otherwise`);
  else if (builtInObjectNames.has(name)) problem(null, `'${name}' is the name of a built-in of JavaScript objects, which weights and saved models are keyed by; name the learnable otherwise`);
  if (!isPlainObject(raw)) {
    problem(null, `${key} must be an object {"shape": ..., "initializer": ...}, not ${describe(raw)}`);
    return undefined;
  }
  for (const field of Object.keys(raw)) {
    if (field !== 'shape' && field !== 'initializer') problem(field, `unknown field '${key}.${field}' (known: shape, initializer)`);
  }
  const shape = raw['shape'] ?? 'perChannel';
  const shapeOk =
    (typeof shape === 'string' && (learnableShapes as readonly string[]).includes(shape)) ||
    (Array.isArray(shape) && shape.length >= 1 && shape.length <= 3 && shape.every((d) => Number.isInteger(d) && d >= 1 && d <= 1 << 20));
  if (!shapeOk) problem('shape', `${key}.shape must be "perChannel", "scalar" or a list of 1 to 3 positive integers, not ${describe(shape)}`);
  const initializer = raw['initializer'] ?? 'rand';
  const initializerOk =
    (typeof initializer === 'number' && Number.isFinite(initializer)) ||
    (typeof initializer === 'string' && (learnableInitializers as readonly string[]).includes(initializer));
  if (!initializerOk) {
    problem('initializer', `${key}.initializer must be one of ${learnableInitializers.map((i) => `"${i}"`).join(', ')} or a number, not ${describe(initializer)}`);
  }
  return ok ? { shape: shape as LearnableShape, initializer: initializer as LearnableInitializer } : undefined;
}

/** The backward is all or nothing: dL/dx and one expression per learnable, as MATLAB's backward returns them all. */
function readBackward(f: Fields, learnables: string[] | null): Record<string, string> | null | undefined {
  const raw = f.raw('backward');
  if (raw === undefined || raw === null) return null;
  if (!isPlainObject(raw)) {
    f.problem('backward', `backward must be an object {"x": "<expression>", "<learnable>": "<expression>"}, not ${describe(raw)}`);
    return undefined;
  }
  if (!learnables) return undefined;
  const wanted = [inputName, ...learnables];
  let ok = true;
  for (const key of Object.keys(raw)) {
    if (!wanted.includes(key)) {
      f.problem(`backward.${key}`, `backward.${key}: '${key}' is neither x nor a learnable (backward needs: ${wanted.join(', ')})`);
      ok = false;
    } else if (typeof raw[key] !== 'string') {
      f.problem(`backward.${key}`, `backward.${key} must be an expression in a string, not ${describe(raw[key])}`);
      ok = false;
    }
  }
  // Object.hasOwn: a learnable named "constructor" must not find Object's constructor in a backward that lacks it.
  const missing = wanted.filter((name) => !Object.hasOwn(raw, name));
  if (missing.length > 0) {
    f.problem('backward', `backward has no expression for ${missing.join(', ')} (it needs one for each of: ${wanted.join(', ')})`);
    ok = false;
  }
  return ok ? Object.fromEntries(wanted.map((name) => [name, raw[name] as string])) : undefined;
}

function readOutputSize(f: Fields): Size3 | null | undefined {
  const raw = f.raw('outputSize');
  if (raw === undefined || raw === null) return null;
  if (Array.isArray(raw) && raw.length === 3 && raw.every((d) => Number.isInteger(d) && d >= 1)) return raw as Size3;
  f.problem('outputSize', `outputSize must be [height, width, channels] of positive integers, not ${describe(raw)}`);
  return undefined;
}
