import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { SgdmUpdate, type SgdmUpdateAttrs } from './names.js';

/** [w', v'] of one sgdm step from w, the velocity v and the gradient g (sgdm.c). */
export const sgdmUpdateWasm: tf.KernelConfig = {
  kernelName: SgdmUpdate,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { w, v, g } = inputs as { w: tf.TensorInfo; v: tf.TensorInfo; g: tf.TensorInfo };
    const { lr, momentum, l2 } = attrs as unknown as SgdmUpdateAttrs;
    const heap = Heap.of(backend);
    const wOut = heap.output(w.shape);
    const vOut = heap.output(w.shape);
    const size = w.shape.reduce((a, b) => a * b, 1);
    heap.kernels.sgdm_update(heap.offset(w), heap.offset(v), heap.offset(g), heap.offset(wOut), heap.offset(vOut), size, lr, momentum, l2);
    return [wOut, vOut];
  },
};
