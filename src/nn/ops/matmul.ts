import * as tf from '@tensorflow/tfjs-core';
import { hasKernel } from '../kernels/index.js';
import { MatMulAtB } from '../kernels/names.js';

/**
 * a · b (both 2-D) for a fully connected layer (a: activations [batch, inputs], b: weights
 * [inputs, outputs]). tf.matMul's gradient asks for dy · bᵀ and aᵀ · dy, which wasm (XNNPACK)
 * computes about 12x slower than plain products; on wasm this one computes
 *   da = dy · transpose(b)   (a transpose of the weights' size only),
 *   db = aᵀ · dy             (matmul_at_b.c, reading the activations in place),
 * and elsewhere it is tf.matMul.
 */
export function matMulTrainable(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return hasKernel(MatMulAtB) ? matMulFused(a, b) : tf.matMul(a, b);
}

const matMulFused: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(
  (...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([a, b]);
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [as, bs] = saved as [tf.Tensor2D, tf.Tensor2D];
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(bs)), tf.engine().runKernel(MatMulAtB, { a: as, b: dy }) as tf.Tensor];
      },
    };
  },
) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;
