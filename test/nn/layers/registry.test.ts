import { describe, expect, it } from 'vitest';
import { layerKind, layerKinds } from '../../../src/nn/layers/registry.js';
import { layerTypes, validateNetwork } from '../../../src/nn/spec.js';

describe('layer registry', () => {
  it('has a module for every layer type the spec accepts, under its own type', () => {
    expect(layerTypes.length).toBeGreaterThan(0);
    for (const type of layerTypes) expect(layerKind(type).type).toBe(type);
    expect([...layerKinds.keys()]).toEqual(layerTypes);
  });

  it('gives distinct default name prefixes, so default names never clash across types', () => {
    const prefixes = layerTypes.map((t) => layerKind(t).namePrefix);
    expect(new Set(prefixes).size).toBe(prefixes.length);
  });

  it('finds nothing for names an object inherits', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(layerKinds.get(name)).toBeUndefined();
  });

  it('a type unknown to the registry is refused by the spec, and one it knows is accepted', () => {
    const net = (type: string) => ({
      layers: [{ type: 'imageInput', inputSize: [4, 4, 1] }, { type }, { type: 'fullyConnected', outputSize: 2 }, { type: 'softmax' }, { type: 'classification' }],
    });
    expect(validateNetwork(net('relu')).ok).toBe(true);
    const refused = validateNetwork(net('constructor'));
    expect(refused.ok ? [] : refused.problems.map((p) => p.path)).toEqual(['layers[1].type']);
  });
});
