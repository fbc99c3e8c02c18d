import type { Fields } from '../fields.js';
import type { Size3 } from '../spec.js';
import type { LayerContext } from './kind.js';

/** What the layers that merge several inputs (addition, concatenations) share. */

/** Most inputs one merging layer may take. */
export const maxInputs = 32;

/** numInputs: MATLAB's argument of additionLayer and concatenationLayer; 2 when left out. */
export function readNumInputs(f: Fields): number | undefined {
  return f.int('numInputs', { default: 2, min: 2, max: maxInputs });
}

/** The sizes of all inputs, or null while one of them is unknown (not connected, or wrong upstream). */
export function knownInputs(ctx: LayerContext, numInputs: number): Size3[] | null {
  const sizes = ctx.inputs.slice(0, numInputs);
  if (sizes.length < numInputs || sizes.some((s) => s === null)) return null;
  return sizes as Size3[];
}

/** "in1 is 14x14x16, in2 is 14x14x8": how a merge names its inputs' sizes in a problem. */
export function describeInputs(sizes: Size3[]): string {
  return sizes.map((s, k) => `in${k + 1} is ${s.join('x')}`).join(', ');
}

export const numInputsOf = (params: Record<string, unknown>): number => params['numInputs'] as number;
