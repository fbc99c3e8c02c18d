import type { Network } from '../src/nn/spec.js';

/**
 * Floating-point operations of one training iteration of a network's convolutions and fully
 * connected layers (2 per multiply-add): the forward pass, the weights' gradient, and the input
 * gradient for every layer but those reading the image itself (neither trainyard nor PyTorch
 * computes that one). Everything else a network does (normalisation, activations, pooling) is a
 * few operations per value and left out, so this is a lower bound on the work.
 */
export function trainingFlops(network: Network, batch: number): number {
  const reads = new Map(network.layers.map((layer) => [layer.name, layer.type]));
  let multiplyAdds = 0;
  for (const layer of network.layers) {
    if (layer.type !== 'convolution2d' && layer.type !== 'fullyConnected') continue;
    const [h, w, c] = layer.inputSize;
    const perOutput = layer.type === 'convolution2d' ? layer.filterSize[0] * layer.filterSize[1] * c : h * w * c;
    const forward = batch * layer.outputSize[0] * layer.outputSize[1] * layer.outputSize[2] * perOutput;
    const readsImage = layer.inputs.every((input) => reads.get(input) === 'imageInput');
    multiplyAdds += forward * (readsImage ? 2 : 3);
  }
  return 2 * multiplyAdds;
}
