import { readFileSync } from 'node:fs';

/** The seed's ELU (../shared/seed-notes.md) written as a custom layer, with its hand-written backward: examples/custom-elu-layer.json. */
export const customEluWithBackward = JSON.parse(readFileSync(new URL('../../../examples/custom-elu-layer.json', import.meta.url), 'utf8')) as {
  type: 'custom';
  name: string;
  learnables: Record<string, unknown>;
  forward: string;
  backward: { x: string; alpha: string };
};

/** The same layer without a backward: tfjs differentiates the forward. */
export const customEluAutodiff = {
  type: 'custom',
  name: customEluWithBackward.name,
  learnables: customEluWithBackward.learnables,
  forward: customEluWithBackward.forward,
};

/** The custom ELU with one backward expression replaced. */
export function withBackward(tensor: 'x' | 'alpha', expression: string) {
  return { ...customEluWithBackward, backward: { ...customEluWithBackward.backward, [tensor]: expression } };
}

/** The seed network with its elu layer (layers[3]) replaced. */
export function seedNetworkWith(layer: Record<string, unknown>, base: { layers: Record<string, unknown>[] }): { layers: Record<string, unknown>[] } {
  const network = structuredClone(base);
  network.layers[3] = structuredClone(layer);
  return network;
}
