import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from './kernels/index.js';
import { SgdmUpdate, type SgdmUpdateAttrs } from './kernels/names.js';
import type { TrainingOptions } from './options.js';

/**
 * A learnable tensor, with its layer's factors: how much L2 regularisation applies to it (MATLAB:
 * 0 for biases, 1 otherwise) and what its learn rate is multiplied by (1; 0 freezes it).
 */
export interface Learnable {
  variable: tf.Variable;
  l2Factor: number;
  learnRateFactor: number;
}

/** A solver's state between two steps: per learnable, in order, its first and second moments (null: none yet). */
export interface SolverState {
  steps: number;
  first: (Float32Array | null)[];
  second: (Float32Array | null)[];
}

/**
 * The solvers of MATLAB's trainNetwork, with its update rules (the L2 term is added to the
 * gradient, as MATLAB does):
 *   sgdm     v = momentum v - lr g;  w = w + v
 *   adam     m = b1 m + (1-b1) g;  s = b2 s + (1-b2) g^2;  w = w - lr m^ / (sqrt(s^) + eps)  (bias-corrected)
 *   rmsprop  s = b2 s + (1-b2) g^2;  w = w - lr g / (sqrt(s) + eps)
 */
export class Solver {
  private readonly first = new Map<tf.Variable, tf.Tensor>();
  private readonly second = new Map<tf.Variable, tf.Tensor>();
  private steps = 0;

  constructor(private readonly options: TrainingOptions) {}

  /** One update of every learnable from its gradient, at learning rate `baseLr` times its factor. Call it inside tf.tidy. */
  step(learnables: Learnable[], gradients: Map<tf.Variable, tf.Tensor>, baseLr: number): void {
    this.steps++;
    const o = this.options;
    const clipped = clipGradients(learnables, gradients, o);
    for (const { variable, l2Factor, learnRateFactor } of learnables) {
      const raw = clipped.get(variable);
      // A frozen learnable is not touched at all: its bits stay what they were, whatever the solver.
      if (!raw || learnRateFactor === 0) continue;
      const lr = baseLr * learnRateFactor;
      tf.tidy(() => {
        if (o.solver === 'sgdm' && hasKernel(SgdmUpdate)) {
          // One kernel for the three steps below; a zero velocity before the first step gives the
          // same bits as -lr g.
          const attrs: SgdmUpdateAttrs = { lr, momentum: o.momentum, l2: l2Factor * o.l2Regularization };
          const v0 = this.first.get(variable) ?? tf.zerosLike(variable);
          const [w, v] = tf.engine().runKernel(SgdmUpdate, { w: variable, v: v0, g: raw }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
          this.remember(this.first, variable, v!);
          variable.assign(w!);
          return;
        }
        const g: tf.Tensor = l2Factor * o.l2Regularization > 0 ? tf.add(raw, tf.mul(variable, l2Factor * o.l2Regularization)) : raw;
        if (o.solver === 'sgdm') {
          const v = this.first.has(variable) ? tf.sub(tf.mul(this.first.get(variable)!, o.momentum), tf.mul(g, lr)) : tf.mul(g, -lr);
          this.remember(this.first, variable, v);
          variable.assign(tf.add(variable, v));
          return;
        }
        const s0 = this.second.get(variable);
        const s = s0
          ? tf.add(tf.mul(s0, o.squaredGradientDecayFactor), tf.mul(tf.square(g), 1 - o.squaredGradientDecayFactor))
          : tf.mul(tf.square(g), 1 - o.squaredGradientDecayFactor);
        this.remember(this.second, variable, s);
        if (o.solver === 'rmsprop') {
          variable.assign(tf.sub(variable, tf.div(tf.mul(g, lr), tf.add(tf.sqrt(s), o.epsilon))));
          return;
        }
        const m0 = this.first.get(variable);
        const m = m0 ? tf.add(tf.mul(m0, o.gradientDecayFactor), tf.mul(g, 1 - o.gradientDecayFactor)) : tf.mul(g, 1 - o.gradientDecayFactor);
        this.remember(this.first, variable, m);
        const mHat = tf.div(m, 1 - o.gradientDecayFactor ** this.steps);
        const sHat = tf.div(s, 1 - o.squaredGradientDecayFactor ** this.steps);
        variable.assign(tf.sub(variable, tf.div(tf.mul(mHat, lr), tf.add(tf.sqrt(sHat), o.epsilon))));
      });
    }
  }

  /** The moments of each learnable (null where it has none yet) and the step count: what a checkpoint keeps. */
  async exportState(learnables: Learnable[]): Promise<SolverState> {
    const read = (state: Map<tf.Variable, tf.Tensor>) => Promise.all(learnables.map(async ({ variable }) => (state.has(variable) ? ((await state.get(variable)!.data()) as Float32Array) : null)));
    return { steps: this.steps, first: await read(this.first), second: await read(this.second) };
  }

  /** Sets the state exportState gave, for the same learnables in the same order. */
  importState(learnables: Learnable[], state: SolverState): void {
    this.dispose();
    this.steps = state.steps;
    const write = (target: Map<tf.Variable, tf.Tensor>, values: (Float32Array | null)[]) =>
      learnables.forEach(({ variable }, k) => {
        const v = values[k];
        if (v) target.set(variable, tf.tensor(v, variable.shape, 'float32'));
      });
    write(this.first, state.first);
    write(this.second, state.second);
  }

  dispose(): void {
    for (const t of [...this.first.values(), ...this.second.values()]) t.dispose();
    this.first.clear();
    this.second.clear();
  }

  private remember(state: Map<tf.Variable, tf.Tensor>, variable: tf.Variable, value: tf.Tensor): void {
    state.get(variable)?.dispose();
    state.set(variable, tf.keep(value));
  }
}

/**
 * MATLAB's gradient clipping: 'l2norm' rescales each learnable's gradient whose L2 norm exceeds the
 * threshold; 'global-l2norm' rescales all of them together when their joint norm does.
 */
function clipGradients(learnables: Learnable[], gradients: Map<tf.Variable, tf.Tensor>, o: TrainingOptions): Map<tf.Variable, tf.Tensor> {
  const threshold = o.gradientThreshold;
  if (threshold === null) return gradients;
  // The factor threshold / max(norm, threshold) is 1 at or under the threshold, so the decision is
  // made on the device: no read of the norms back (webgpu cannot read synchronously at all).
  const factor = (norm: tf.Tensor) => tf.div(threshold, tf.maximum(norm, threshold));
  const norms = new Map(learnables.map(({ variable }) => [variable, tf.norm(gradients.get(variable)!)]));
  const clipped = new Map<tf.Variable, tf.Tensor>();
  if (o.gradientThresholdMethod === 'global-l2norm') {
    const global = factor(tf.sqrt(tf.addN([...norms.values()].map((n) => tf.square(n)))));
    for (const [variable, g] of gradients) clipped.set(variable, tf.mul(g, global));
    return clipped;
  }
  for (const [variable, g] of gradients) {
    const n = norms.get(variable);
    clipped.set(variable, n ? tf.mul(g, factor(n)) : g);
  }
  return clipped;
}
