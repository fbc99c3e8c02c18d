import { inputName } from './definition.js';
import { evaluate } from './evaluate.js';
import { float64Ops, type Array64 } from './float64.js';
import type { LayerProgram } from './program.js';

/**
 * Central finite differences of L = sum(dLdZ * forward(x, learnables)) in float64, for chosen
 * entries of x and of each learnable. This is the reference the layer check holds tfjs's float32
 * gradients to: tfjs has no float64, this module never touches tfjs.
 */
export interface NumericalGradient {
  /** The entries differentiated (flat indices into the tensor). */
  indices: number[];
  /** dL/d(entry), for each index; NaN where the entry sits on a kink (see `kinks`). */
  values: number[];
  /**
   * Entries where the one-sided differences disagree: the function has a kink (a jump in its
   * derivative, as ELU's at 0) within a step of the entry, and no difference quotient is its
   * derivative there.
   */
  kinks: number;
}

export interface Float64Inputs {
  x: Array64;
  /** In the program's order, each of its shape among the expression's values ([1, h|1, w|1, c|1]). */
  learnables: Array64[];
  /** dL/dZ, of the forward's output shape. */
  dLdZ: Array64;
}

/** How far one-sided differences may disagree (relative to the entry's scale) before the entry counts as a kink. */
const kinkTolerance = 1e-4;

export function numericalGradients(program: LayerProgram, inputs: Float64Inputs, samples: { x: number[]; learnables: number[][] }): {
  x: NumericalGradient;
  learnables: NumericalGradient[];
} {
  const observations = inputs.x.shape[0];
  const bound = () =>
    new Map<string, Array64>([[inputName, inputs.x], ...program.learnables.map((slot, i): [string, Array64] => [slot.name, inputs.learnables[i]!])]);
  const z0 = evaluate(program.forward, bound(), float64Ops, observations).data;
  const dLdZ = inputs.dLdZ.data;
  /** sum(dLdZ * (Z - Z0)) with the tensor's entry set to v: the change in L, without the cancellation of subtracting two sums. */
  const change = (tensor: Array64, index: number, v: number) => {
    const saved = tensor.data[index]!;
    tensor.data[index] = v;
    const z = evaluate(program.forward, bound(), float64Ops, observations).data;
    tensor.data[index] = saved;
    let sum = 0;
    for (let i = 0; i < z.length; i++) sum += dLdZ[i]! * (z[i]! - z0[i]!);
    return sum;
  };
  const differentiate = (tensor: Array64, indices: number[]): NumericalGradient => {
    const raw = indices.map((index) => {
      const v = tensor.data[index]!;
      const h = 1e-6 * Math.max(1, Math.abs(v));
      // The steps actually taken, as v +- h rounds.
      const up = v + h - v;
      const down = v - (v - h);
      const forward = change(tensor, index, v + h) / up;
      const backward = -change(tensor, index, v - h) / down;
      return { central: (forward * up + backward * down) / (up + down), spread: Math.abs(forward - backward) };
    });
    const scale = Math.max(1e-30, ...raw.map((r) => Math.abs(r.central)));
    let kinks = 0;
    const values = raw.map((r) => {
      if (r.spread <= kinkTolerance * (Math.abs(r.central) + 1e-3 * scale)) return r.central;
      kinks++;
      return NaN;
    });
    return { indices, values, kinks };
  };
  return {
    x: differentiate(inputs.x, samples.x),
    learnables: inputs.learnables.map((tensor, i) => differentiate(tensor, samples.learnables[i]!)),
  };
}
