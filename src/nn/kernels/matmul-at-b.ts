import * as tf from '@tensorflow/tfjs-core';
import { Heap } from '../wasm/heap.js';
import { MatMulAtB } from './names.js';

/** aᵀ · b for 2-D a [m, k] and b [m, n], reading a in place (matmul_at_b.c). */
export const matMulAtBWasm: tf.KernelConfig = {
  kernelName: MatMulAtB,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const [m, k] = a.shape as [number, number];
    const [mb, n] = b.shape as [number, number];
    if (mb !== m) throw new Error(`${MatMulAtB}: a is [${a.shape}] and b is [${b.shape}]; their first dimensions must match`);
    const heap = Heap.of(backend);
    const out = heap.output([k, n]);
    heap.kernels.matmul_at_b(heap.offset(a), heap.offset(b), heap.offset(out), m, k, n);
    return out;
  },
};
