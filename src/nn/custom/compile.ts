import * as tf from '@tensorflow/tfjs-core';
import { inputName, outputGradientName, outputName } from './definition.js';
import { evaluate } from './evaluate.js';
import type { LayerProgram } from './program.js';
import { tensorOps } from './tensor-ops.js';

/** A custom layer's forward as a tfjs function of x [N, h, w, c] and its learnables (in the program's order, in their own shapes). */
export type LayerFunction = (x: tf.Tensor, learnables: tf.Tensor[]) => tf.Tensor;

/**
 * Compiles a program to tfjs. With 'backward' (the default when the user wrote one) the gradient
 * is the user's, through tf.customGrad: the forward keeps x, the learnables and z, and the backward
 * expressions see them with dz. With 'autodiff' tfjs differentiates the forward itself.
 */
export function compileLayer(program: LayerProgram, gradients: 'backward' | 'autodiff' = program.backward ? 'backward' : 'autodiff'): LayerFunction {
  const bind = (x: tf.Tensor, learnables: tf.Tensor[]) =>
    new Map<string, tf.Tensor>([
      [inputName, x],
      ...program.learnables.map((slot, i): [string, tf.Tensor] => [slot.name, tf.reshape(learnables[i]!, slot.shape.map(Number))]),
    ]);
  const forward = (x: tf.Tensor, learnables: tf.Tensor[]) => evaluate(program.forward, bind(x, learnables), tensorOps, x.shape[0]!);
  const backward = program.backward;
  if (gradients === 'autodiff' || !backward) return forward;

  const withGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [x, ...learnables] = args as tf.Tensor[];
    const z = tf.tidy(() => forward(x!, learnables));
    save([x!, ...learnables, z]);
    return {
      value: z,
      gradFunc: (dz: tf.Tensor, saved: tf.Tensor[]) => {
        const xs = saved[0]!;
        const ws = saved.slice(1, -1);
        const names = bind(xs, ws).set(outputName, saved.at(-1)!).set(outputGradientName, dz);
        const n = xs.shape[0]!;
        return [
          evaluate(backward.x, names, tensorOps, n),
          ...backward.learnables.map((expr, i) => tf.reshape(evaluate(expr, names, tensorOps, n), ws[i]!.shape)),
        ];
      },
    };
  });
  return (x, learnables) => withGradient(x, ...learnables);
}
