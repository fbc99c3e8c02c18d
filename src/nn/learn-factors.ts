import type { Fields } from './fields.js';
import type { LearnableSlot } from './layers/kind.js';
import { layerKind } from './layers/registry.js';
import { describe } from './problems.js';
import type { Layer } from './spec.js';

/**
 * MATLAB's per-layer factors: `<learnable>LearnRateFactor` multiplies the solver's learn rate for
 * that learnable (0 freezes it) and `<learnable>L2Factor` its L2 regularisation, e.g.
 * weightLearnRateFactor and biasL2Factor on a convolution, scaleLearnRateFactor on a batch
 * normalization, alphaLearnRateFactor on a learnable ELU or a custom layer's learnable "alpha".
 */
export interface LearnableFactors {
  /** The learnable's name in the factor's field (weight, bias, scale, offset, alpha, ...). */
  learnable: string;
  learnRate?: number;
  l2?: number;
}

const suffixes = [
  { suffix: 'LearnRateFactor', factor: 'learnRate' },
  { suffix: 'L2Factor', factor: 'l2' },
] as const;

/** A field `<learnable><suffix>` of a layer, read before its learnables are known. */
interface GivenFactor {
  key: string;
  learnable: string;
  factor: 'learnRate' | 'l2';
  value: number;
}

/**
 * Reads every factor field of a layer (numbers, at least 0); which learnables the layer has is
 * checked once it is read (checkFactors), since that can depend on its other fields.
 */
export function readFactors(f: Fields): GivenFactor[] {
  const given: GivenFactor[] = [];
  for (const key of f.keys()) {
    const match = suffixes.find(({ suffix }) => key.endsWith(suffix) && key.length > suffix.length);
    if (!match) continue;
    const value = f.raw(key);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      f.problem(key, `${key} must be a number at least 0 (0 freezes it, 1 is the default), not ${describe(value)}`);
      continue;
    }
    given.push({ key, learnable: key.slice(0, -match.suffix.length), factor: match.factor, value });
  }
  return given;
}

/** The factors of a read layer, each checked against its learnables (a problem names the field otherwise); undefined when none were given. */
export function checkFactors(f: Fields, layer: Layer, given: GivenFactor[]): LearnableFactors[] | undefined {
  if (given.length === 0) return undefined;
  const names = learnablesOf(layer).map((slot) => slot.name);
  const factors = new Map<string, LearnableFactors>();
  for (const { key, learnable, factor, value } of given) {
    if (!names.includes(learnable)) {
      const has = names.length === 0 ? 'it has no learnables' : `its learnables: ${names.join(', ')}`;
      f.problem(key, `${key}: a ${layer.type} layer has no learnable '${learnable}' (${has})`);
      continue;
    }
    const entry = factors.get(learnable) ?? { learnable };
    entry[factor] = value;
    factors.set(learnable, entry);
  }
  return [...factors.values()];
}

/** A layer's learnables (none for a layer type without). */
export function learnablesOf(layer: Layer): LearnableSlot[] {
  return layerKind(layer.type).learnables?.(layer as never) ?? [];
}

/** The factors a layer gives one of its learnables: MATLAB's defaults where it gives none (learn rate 1; L2 1, 0 for a bias). */
export function factorsFor(layer: Layer, learnable: string): { learnRate: number; l2: number } {
  const given = layer.factors?.find((f) => f.learnable === learnable);
  return { learnRate: given?.learnRate ?? 1, l2: given?.l2 ?? (learnable === 'bias' ? 0 : 1) };
}
