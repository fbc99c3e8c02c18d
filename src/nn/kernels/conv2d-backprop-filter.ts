import * as tf from '@tensorflow/tfjs-core';

/**
 * Conv2DBackpropFilter composed from kernels every backend has, for backends that lack it (wasm):
 * the filter gradient is the product of the input's image patches (im2col) and the output gradient,
 *   dW[kh, kw, ci, co] = sum over n, oh, ow of Xpadded[n, oh*sh + kh, ow*sw + kw, ci] * dY[n, oh, ow, co].
 * One strided slice per filter tap builds the patches; one matrix product does the sum.
 */
export function conv2dBackpropFilterComposite(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number],
  pad: [number, number, number, number],
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, ci, co] = filterShape;
    const [n, oh, ow] = dy.shape;
    const [sh, sw] = strides;
    const [top, bottom, left, right] = pad;
    const xp: tf.Tensor4D = top + bottom + left + right > 0 ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        taps.push(tf.stridedSlice(xp, [0, i, j, 0], [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, ci], [1, sh, sw, 1]));
      }
    }
    const patches = tf.reshape(taps.length === 1 ? taps[0]! : tf.concat(taps, 3), [n * oh * ow, kh * kw * ci]);
    const dw = tf.matMul(patches, tf.reshape(dy, [n * oh * ow, co]), true, false);
    return tf.reshape(dw, [kh, kw, ci, co]);
  });
}

/** The four paddings TF derives from a Conv2D's `pad` attribute for this input and output. */
export function explicitPadding(
  pad: 'valid' | 'same' | number | number[][],
  input: [number, number],
  output: [number, number],
  filter: [number, number],
  strides: [number, number],
): [number, number, number, number] {
  if (pad === 'valid') return [0, 0, 0, 0];
  if (typeof pad === 'number') return [pad, pad, pad, pad];
  if (Array.isArray(pad)) {
    const [, [t, b], [l, r]] = pad as [number[], [number, number], [number, number]];
    return [t, b, l, r];
  }
  const total = (k: 0 | 1) => Math.max(0, (output[k] - 1) * strides[k] + filter[k] - input[k]);
  const th = total(0);
  const tw = total(1);
  return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
}

/** Registers the composite as `backendName`'s Conv2DBackpropFilter kernel. */
export function registerConv2dBackpropFilter(backendName: string): void {
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName,
    kernelFunc: ({ inputs, attrs }) => {
      const { x, dy } = inputs as unknown as { x: tf.Tensor4D; dy: tf.Tensor4D };
      const { strides, pad, dataFormat, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      if (dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter on ${backendName} supports NHWC only, not ${dataFormat}`);
      const s: [number, number] = typeof strides === 'number' ? [strides, strides] : strides;
      const shape = filterShape as [number, number, number, number];
      const padding = explicitPadding(pad, [x.shape[1], x.shape[2]], [dy.shape[1], dy.shape[2]], [shape[0], shape[1]], s);
      // A kernel may return a Tensor: the engine adopts it as the output (see Engine.runKernelFunc).
      return conv2dBackpropFilterComposite(x, dy, shape, s, padding) as unknown as tf.TensorInfo;
    },
  });
}
