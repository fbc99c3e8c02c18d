import * as tf from '@tensorflow/tfjs-core';
import type { BackendEntry, Started } from './entry.js';
import { firstLine, useTfjsBackend } from './entry.js';

/** Native TensorFlow packages, the GPU build first: optional dependencies, installed in the Docker images. */
const nativePackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** Native TensorFlow through tfjs-node(-gpu): the fastest where its package is installed. */
export const tensorflowBackend = {
  name: 'tensorflow',
  summary: 'native TensorFlow (@tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node)',
  auto: { priority: 20 },
  memoryCeilingBytes: null,
  async start(): Promise<Started> {
    const skipped: string[] = [];
    for (const pkg of nativePackages) {
      try {
        await import(pkg);
        await useTfjsBackend('tensorflow');
        const gpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
        // On a GPU, the first use of a kernel may JIT-compile CUDA's PTX (kept in CUDA_CACHE_PATH).
        return { package: pkg, device: gpu ? 'gpu' : 'cpu', outcome: `${pkg} loaded`, skipped, compilesKernels: gpu };
      } catch (err) {
        skipped.push(`${pkg}: ${firstLine(err)}`);
      }
    }
    throw new Error(`no native TensorFlow package could be loaded (${skipped.join('; ')})`);
  },
  async kernels() {
    return [];
  },
} as const satisfies BackendEntry<'tensorflow'>;
