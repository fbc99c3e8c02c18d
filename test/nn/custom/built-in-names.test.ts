import { describe, expect, it } from 'vitest';
import { checkCustomLayer } from '../../../src/nn/custom/check.js';
import { validateCustomLayer } from '../../../src/nn/custom/validate.js';
import { validateNetwork } from '../../../src/nn/spec.js';
import { builtIns, layersWithName } from '../../helpers/built-in-names.js';
import { seedNetworkJson } from '../../helpers/data.js';
import { customEluWithBackward, seedNetworkWith } from './seed-elu.js';

/**
 * Every name Object.prototype has (constructor, toString, __proto__, hasOwnProperty, ...) in every
 * place of a custom layer where a user's string becomes a key: each is refused with a sentence,
 * none reaches a lookup that finds what every object inherits.
 */
const input = [6, 6, 4] as const;

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
