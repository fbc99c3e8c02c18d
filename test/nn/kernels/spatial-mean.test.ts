import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { replacedKernel } from '../../../src/nn/kernels/replaced.js';
import { spatialMeanWasm } from '../../../src/nn/kernels/spatial-mean.js';
import { onCpu, randomArray, useTestBackend, worstMismatch } from '../../helpers/backend.js';
import { compileWasmWithOptimizingTierOnly } from '../../helpers/wasm-tier.js';

beforeAll(async () => {
  await useTestBackend();
  compileWasmWithOptimizingTierOnly();
});

/** tfjs-backend-wasm's own Mean (which trainyard's replaced), run directly. */
function stockMean(x: tf.Tensor, axis: number[], keepDims: boolean): Float32Array {
  const out = replacedKernel(tf.Mean, 'wasm').kernelFunc({ inputs: { x }, attrs: { axis, keepDims }, backend: tf.backend() }) as tf.TensorInfo;
  const tensor = tf.engine().makeTensorFromTensorInfo(out);
  const values = tensor.dataSync() as Float32Array;
  tensor.dispose();
  return values;
}

describe('Mean over the spatial axes on wasm (spatial_mean)', () => {
  it("replaces tfjs-backend-wasm's kernel", () => {
    expect(tf.getKernel(tf.Mean, 'wasm')).toBe(spatialMeanWasm);
  });

  for (const shape of [[3, 7, 5, 6], [1, 1, 1, 1], [1, 3, 3, 1], [2, 5, 4, 9], [4, 14, 14, 32]] as [number, number, number, number][]) {
    for (const keepDims of [false, true]) {
      it(`${shape.join('x')}${keepDims ? ', keepDims' : ''}: tfjs's own wasm Mean to the bit, and the cpu backend's values`, async () => {
        const values = randomArray(shape.reduce((a, b) => a * b, 1), 23).map((v, i) => (i % 5 === 0 ? v * 1e3 : v));
        const x = tf.tensor4d(values, shape);
        for (const axis of [[1, 2], [2, 1], [-3, -2]]) {
          const ours = tf.mean(x, axis, keepDims);
          expect(ours.shape).toEqual(keepDims ? [shape[0], 1, 1, shape[3]] : [shape[0], shape[3]]);
          expect(ours.dataSync()).toEqual(stockMean(x, [1, 2], keepDims));
          const run = () => tf.tidy(() => tf.mean(tf.tensor4d(values, shape), axis, keepDims).dataSync());
          expect(worstMismatch(ours.dataSync(), await onCpu(run), 1e-6, 1e-5)).toBeLessThanOrEqual(1);
          ours.dispose();
        }
        x.dispose();
      });
    }
  }

  it("hands every other mean to tfjs's own: other axes, ranks and dtypes", () => {
    const x = tf.tensor4d(randomArray(2 * 3 * 4 * 5, 5), [2, 3, 4, 5]);
    for (const axis of [[3], [1], [0, 1, 2, 3], [1, 2, 3], [0, 1]]) expect(tf.mean(x, axis).dataSync()).toEqual(stockMean(x, axis, false));
    const rank3 = tf.tensor3d(randomArray(24, 6), [2, 3, 4]);
    expect(tf.mean(rank3, [1, 2]).dataSync()).toEqual(stockMean(rank3, [1, 2], false));
    const ints = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2], 'int32');
    expect(Array.from(tf.mean(ints, [1, 2]).dataSync())).toEqual([4, 5]);
    tf.dispose([x, rank3, ints]);
  });

  for (const keepDims of [false, true]) {
    it(`trains through global average pooling${keepDims ? ' (keepDims)' : ''}: its gradient, one kernel, the cpu backend's bits`, async () => {
      const shape: [number, number, number, number] = [3, 5, 7, 6];
      const values = randomArray(3 * 5 * 7 * 6, 8);
      const weights = randomArray(3 * 6, 9);
      const grad = () =>
        tf.tidy(() => {
          const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.reshape(tf.mean(t, [1, 2], keepDims), [3, 6]), tf.tensor2d(weights, [3, 6])));
          return tf.grad(f)(tf.tensor4d(values, shape)).dataSync();
        });
      const profile = await tf.profile(() => tf.tensor(grad()));
      expect(profile.kernels.map((k) => k.name)).toContain('TrainyardSpatialMeanGrad');
      const ours = grad();
      const cpu = await onCpu(grad);
      expect(Array.from(ours)).toEqual(Array.from(cpu));
      // Each pixel of image b, channel k gets weights[b, k] / 35.
      expect(ours[((2 * 5 + 4) * 7 + 6) * 6 + 5]).toBe(Math.fround(weights[2 * 6 + 5]! / 35));
    });
  }
});
