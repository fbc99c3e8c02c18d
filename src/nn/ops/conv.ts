import * as tf from '@tensorflow/tfjs-core';

/**
 * A 2-D convolution that can be trained with any dilation. tfjs has no gradient for dilated
 * convolutions, so a dilated one runs as an ordinary convolution with the filter spread out by
 * zeros (built from pad/reshape/slice, which all have gradients); the extra multiplications by
 * zero are the price of training it on every backend.
 */
export function conv2dTrainable(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  strides: [number, number],
  padding: 'valid' | 'same',
  dilation: [number, number],
): tf.Tensor4D {
  if (dilation[0] === 1 && dilation[1] === 1) return tf.conv2d(x, kernel, strides, padding);
  return tf.conv2d(x, dilateFilter(kernel, dilation), strides, padding);
}

/** [kh, kw, ci, co] -> [(kh-1)*dh+1, (kw-1)*dw+1, ci, co] with zeros between the taps. */
export function dilateFilter(kernel: tf.Tensor4D, [dh, dw]: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = kernel.shape;
    const spread = tf.pad(tf.reshape(kernel, [kh, 1, kw, 1, ci, co]), [[0, 0], [0, dh - 1], [0, 0], [0, dw - 1], [0, 0], [0, 0]]);
    return tf.slice(tf.reshape(spread, [kh * dh, kw * dw, ci, co]), 0, [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co]) as tf.Tensor4D;
  });
}
