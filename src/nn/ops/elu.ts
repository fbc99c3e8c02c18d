import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from '../kernels/index.js';
import { EluWithAlpha, EluWithAlphaGrad } from '../kernels/names.js';

/**
 * The seed's ELU with a learnable alpha, forward and backward exactly as written there:
 *   Z = X where X > 0, alpha * (exp(min(X, 0)) - 1) elsewhere (min keeps exp from overflowing);
 *   dX = dZ * ((X > 0) + (alpha + Z) * (X <= 0));
 *   dAlpha = dZ * (exp(min(X, 0)) - 1) summed over every axis alpha is broadcast along.
 * alpha has shape [C] (one per channel, the last axis) or [1]; X is [..., C].
 * Only X and Z are kept between forward and backward. On wasm one fused kernel does each direction
 * (elu.c); elsewhere tfjs ops do.
 */
export function eluWithAlpha(x: tf.Tensor, alpha: tf.Tensor): tf.Tensor {
  if (hasKernel(EluWithAlpha)) return tf.engine().runKernel(EluWithAlpha, { x, alpha }) as tf.Tensor;
  return eluWithAlphaComposite(x, alpha);
}

tf.registerGradient({
  kernelName: EluWithAlpha,
  inputsToSave: ['x', 'alpha'],
  outputsToSave: [true],
  gradFunc: (dz, saved) => {
    const [x, alpha, z] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
    const [dx, dalpha] = tf.engine().runKernel(EluWithAlphaGrad, { x, z, alpha, dz: dz as tf.Tensor }) as tf.Tensor[];
    return { x: () => dx!, alpha: () => dalpha! };
  },
});

const eluWithAlphaComposite: (x: tf.Tensor, alpha: tf.Tensor) => tf.Tensor = tf.customGrad(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, alpha, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const z = tf.tidy(() => tf.where(tf.greater(x, 0), x, tf.mul(alpha, expm1OfNegativePart(x))));
    save([x, alpha, z]);
    return {
      value: z,
      gradFunc: (dz: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, a, zs] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dx = tf.mul(dz, tf.where(tf.greater(xs, 0), tf.onesLike(xs), tf.add(a, zs)));
        const perElement = tf.mul(dz, expm1OfNegativePart(xs));
        const reduceAxes = a.size === 1 ? undefined : [...Array(xs.rank - 1).keys()];
        const dAlpha = tf.reshape(tf.sum(perElement, reduceAxes), a.shape);
        return [dx, dAlpha];
      },
    };
  },
) as (x: tf.Tensor, alpha: tf.Tensor) => tf.Tensor;

/** exp(min(x, 0)) - 1: the negative branch without overflow for large positive x. */
function expm1OfNegativePart(x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.exp(tf.minimum(x, 0)), 1);
}
