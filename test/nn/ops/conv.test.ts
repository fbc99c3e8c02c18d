import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2dTrainable, dilateFilter } from '../../../src/nn/ops/conv.js';
import { randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';

beforeAll(useTestBackend);

describe('conv2dTrainable', () => {
  it('spreads a filter with zeros between its taps', () => {
    const spread = tf.tidy(() => dilateFilter(tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]), [2, 3]));
    expect(spread.shape).toEqual([3, 4, 1, 1]);
    expect(Array.from(spread.dataSync())).toEqual([1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 4]);
    spread.dispose();
  });

  it('computes the same dilated convolution as tfjs', () => {
    const [ours, theirs] = tf.tidy(() => {
      const x = tf.tensor4d(randomArray(2 * 12 * 11 * 3, 1), [2, 12, 11, 3]);
      const w = tf.tensor4d(randomArray(3 * 3 * 3 * 4, 2), [3, 3, 3, 4]);
      return [conv2dTrainable(x, w, [1, 1], 'same', [2, 3]).dataSync(), tf.conv2d(x, w, 1, 'same', 'NHWC', [2, 3]).dataSync()];
    });
    expect(worstMismatch(ours!, theirs!, 1e-5, 1e-5)).toBeLessThanOrEqual(1);
  });

  it('has a filter gradient that agrees with finite differences (tfjs has none for dilations)', () => {
    const shape: [number, number, number, number] = [2, 2, 2, 2];
    const wData = randomArray(16, 4);
    const x = tf.tensor4d(randomArray(1 * 9 * 9 * 2, 3), [1, 9, 9, 2]);
    const dy = tf.tidy(() => tf.tensor4d(randomArray(conv2dTrainable(x, tf.tensor4d(wData, shape), [1, 1], 'valid', [2, 2]).size, 5), [1, 7, 7, 2]));
    const loss = (w: tf.Tensor) => tf.sum(tf.mul(conv2dTrainable(x, w as tf.Tensor4D, [1, 1], 'valid', [2, 2]), dy));
    const analytic = tf.tidy(() => tf.grad(loss)(tf.tensor4d(wData, shape)).dataSync());
    // The loss is linear in w, so a central difference is exact up to float32 rounding of a
    // ~100-term sum (~1e-5 absolute); h = 0.1 keeps that rounding small relative to the step.
    const h = 0.1;
    const numeric = Array.from(wData, (_, i) => {
      const at = (d: number) => tf.tidy(() => loss(tf.tensor4d(wData.map((v, k) => (k === i ? v + d : v)), shape)).dataSync()[0]!);
      return (at(h) - at(-h)) / (2 * h);
    });
    expect(worstMismatch(analytic, numeric, 1e-3, 1e-3)).toBeLessThanOrEqual(1);
    tf.dispose([x, dy]);
  });
});
