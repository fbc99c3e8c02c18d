import type * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs's own kernels that trainyard's replaced at registration (src/nn/kernels/index.ts), for a
 * replacement that handles only some cases (a mean over the spatial axes) to hand the rest back.
 */
const replaced = new Map<string, tf.KernelConfig>();

const key = (kernelName: string, backendName: string) => `${backendName}/${kernelName}`;

/** Keeps `stock` as the kernel its name had before trainyard's; the first one kept stays. */
export function keepReplaced(stock: tf.KernelConfig): void {
  if (!replaced.has(key(stock.kernelName, stock.backendName))) replaced.set(key(stock.kernelName, stock.backendName), stock);
}

/** tfjs's own kernel under this name, which trainyard's replaced. */
export function replacedKernel(kernelName: string, backendName: string): tf.KernelConfig {
  const stock = replaced.get(key(kernelName, backendName));
  if (!stock) throw new Error(`no ${kernelName} kernel of tfjs's own was kept for ${backendName}`);
  return stock;
}
