/** The seed's ELU (../shared/seed-notes.md) written as a custom layer, with its hand-written backward and without. */
export const customEluWithBackward = {
  type: 'custom',
  name: 'myElu',
  learnables: { alpha: { shape: 'perChannel', initializer: 'rand' } },
  forward: 'x > 0 ? x : alpha * (exp(min(x, 0)) - 1)',
  backward: {
    x: 'dz * ((x > 0) + (alpha + z) * (x <= 0))',
    alpha: 'sum(dz * (exp(min(x, 0)) - 1), "spatial+batch")',
  },
};

export const customEluAutodiff = {
  type: 'custom',
  name: 'myElu',
  learnables: customEluWithBackward.learnables,
  forward: customEluWithBackward.forward,
};

/** The seed network with its elu layer (layers[3]) replaced. */
export function seedNetworkWith(layer: Record<string, unknown>, base: { layers: Record<string, unknown>[] }): { layers: Record<string, unknown>[] } {
  const network = structuredClone(base);
  network.layers[3] = structuredClone(layer);
  return network;
}
