import * as tf from '@tensorflow/tfjs-core';

/** Whether `kernelName` runs on the backend in use (the ops' choice between fused and plain tfjs). */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
