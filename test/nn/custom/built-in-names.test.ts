import { describe, expect, it } from 'vitest';
import { checkCustomLayer } from '../../../src/nn/custom/check.js';
import { validateCustomLayer } from '../../../src/nn/custom/validate.js';
import { validateNetwork } from '../../../src/nn/spec.js';
import { seedNetworkJson } from '../../helpers/data.js';
import { customEluWithBackward, seedNetworkWith } from './seed-elu.js';

/**
 * Every name Object.prototype has (constructor, toString, __proto__, hasOwnProperty, ...) in every
 * place of a custom layer where a user's string becomes a key: each is refused with a sentence,
 * none reaches a lookup that finds what every object inherits.
 */
const builtIns = Object.getOwnPropertyNames(Object.prototype);
const input = [6, 6, 4] as const;

/** A custom layer with `name` in one position; JSON.parse, as the API reads a body, so "__proto__" is an own key. */
export function layersWithName(name: string): [string, unknown][] {
  const layer = (fields: Record<string, unknown>) => JSON.parse(JSON.stringify({ type: 'custom', name: 'c', learnables: { alpha: {} }, forward: 'x * alpha', ...fields })) as unknown;
  const withKey = (key: string, value: unknown) => JSON.parse(`{${JSON.stringify(key)}: ${JSON.stringify(value)}}`) as unknown;
  return [
    ['a function', layer({ forward: `${name}(x) * alpha` })],
    ['a name', layer({ forward: `x * ${name}` })],
    ['a name in backward', layer({ backward: { x: `dz * ${name}`, alpha: 'sum(dz * x, "spatial+batch")' } })],
    ['an axis word', layer({ forward: `sum(x, "${name}") * alpha` })],
    ['an axis word after +', layer({ forward: `sum(x, "spatial+${name}") * alpha` })],
    ['a learnable', layer({ learnables: withKey(name, {}), forward: `x * ${name}` })],
    ['a learnable missing from backward', layer({ learnables: withKey(name, {}), forward: `x * ${name}`, backward: { x: 'dz' } })],
    ['a backward key', layer({ backward: { x: 'dz * alpha', alpha: 'sum(dz * x, "spatial+batch")', ...(withKey(name, 'dz') as object) } })],
    ['a learnable field', layer({ learnables: { alpha: withKey(name, 1) } })],
    ['a learnable shape', layer({ learnables: { alpha: { shape: name } } })],
    ['a learnable initializer', layer({ learnables: { alpha: { initializer: name } } })],
    ['a layer field', JSON.parse(JSON.stringify({ ...(layer({}) as object), ...(withKey(name, 1) as object) }).replace('{', `{${JSON.stringify(name)}: 1,`)) as unknown],
  ];
}

describe('Object.prototype names in a custom layer', () => {
  it(`refuses each of the ${builtIns.length} names in each position with a sentence`, () => {
    let cases = 0;
    for (const name of builtIns) {
      for (const [position, layer] of layersWithName(name)) {
        const result = validateCustomLayer(layer, [...input]);
        expect(result.ok, `${name} as ${position}`).toBe(false);
        if (!result.ok) expect(result.problems.map((p) => p.message).join(' '), `${name} as ${position}`).toContain(name);
        cases++;
      }
    }
    console.log(`built-in names: ${cases} layer definitions refused (${builtIns.length} names x ${cases / builtIns.length} positions)`);
  });

  it('refuses them in a network too, and never throws', () => {
    for (const name of builtIns) {
      for (const [position, layer] of layersWithName(name)) {
        const network = seedNetworkWith({ ...(layer as object), name: 'myElu' }, seedNetworkJson);
        const result = validateNetwork(network);
        expect(result.ok, `${name} as ${position}`).toBe(false);
      }
    }
  });

  it('the check reports a failed definition for them rather than throwing', async () => {
    const report = await checkCustomLayer(layersWithName('constructor')[0]![1], [...input]);
    expect(report.checks[0]).toMatchObject({ name: 'definition', status: 'fail' });
    expect(report.checks[0]!.message).toContain("unknown function 'constructor'");
  });

  it('still accepts the seed ELU', () => {
    expect(validateCustomLayer(customEluWithBackward, [24, 24, 20]).ok).toBe(true);
  });
});
