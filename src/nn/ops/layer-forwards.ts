import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { batchNormTraining } from './batch-norm.js';
import { matMulTrainable } from './matmul.js';

/**
 * Training-mode forwards for tfjs-layers layers, built from trainyard's ops so that their gradients
 * take the fast paths (see the ops). Each computes what the layer's own `apply(x, {training: true})`
 * computes, with the same side effects (test/nn/layers/training-forwards.test.ts checks it per layer type).
 */

function weight(layer: tfl.layers.Layer, suffix: string): tfl.LayerVariable {
  const found = layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`));
  if (!found) throw new Error(`layer ${layer.name} has no weight ${suffix}`);
  return found;
}

/** A Dense layer (kernel [inputs, units] and bias) on a [batch, inputs] input. */
export function denseTraining(dense: tfl.layers.Layer): (x: tf.Tensor) => tf.Tensor {
  return (x) => tf.add(matMulTrainable(x as tf.Tensor2D, weight(dense, 'kernel').read() as tf.Tensor2D), weight(dense, 'bias').read());
}

/**
 * A BatchNormalization layer on its last axis: normalised by the batch's statistics, which also
 * update the moving mean and variance as tfjs-layers does (moving -= (moving - batch) (1 - momentum)).
 */
export function batchNormalizationTraining(bn: tfl.layers.Layer, epsilon: number, momentum: number): (x: tf.Tensor) => tf.Tensor {
  return (x) => {
    const { y, mean, variance } = batchNormTraining(x, weight(bn, 'gamma').read() as tf.Tensor1D, weight(bn, 'beta').read() as tf.Tensor1D, epsilon);
    for (const [variable, value] of [
      [weight(bn, 'moving_mean'), mean],
      [weight(bn, 'moving_variance'), variance],
    ] as const) {
      tf.tidy(() => {
        const moving = variable.read();
        variable.write(tf.sub(moving, tf.mul(tf.sub(moving, value), 1 - momentum)));
      });
    }
    return y;
  };
}
