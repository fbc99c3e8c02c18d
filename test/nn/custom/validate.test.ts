import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateCustomLayer } from '../../../src/nn/custom/validate.js';
import { validateNetwork } from '../../../src/nn/spec.js';
import { seedNetworkJson } from '../../helpers/data.js';
import { customEluWithBackward, seedNetworkWith } from './seed-elu.js';

/** The seed network with layers[3] (24x24x20 in and out) replaced by a custom layer with these fields. */
function withCustom(fields: Record<string, unknown>) {
  return seedNetworkWith({ ...customEluWithBackward, ...fields }, seedNetworkJson);
}

function problems(input: unknown) {
  const result = validateNetwork(input);
  if (result.ok) throw new Error('expected the network to be rejected');
  return result.problems;
}

describe('custom layers in validateNetwork', () => {
  it('accepts the seed ELU, fills defaults, infers the output size and counts one alpha per channel', () => {
    const result = validateNetwork(withCustom({ learnables: { alpha: {} } }));
    if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
    const layer = result.value.layers[3]!;
    expect(layer).toMatchObject({ type: 'custom', name: 'myElu', inputSize: [24, 24, 20], outputSize: [24, 24, 20], learnables: 20 });
    expect(layer.type === 'custom' && layer.definition.learnables).toEqual({ alpha: { shape: 'perChannel', initializer: 'rand' } });
    expect(result.value.learnables).toBe(520 + 40 + 20 + 115_210);
  });

  it('accepts examples/seed-custom-elu.json: the seed network with examples/custom-elu-layer.json as its ELU', () => {
    const example = JSON.parse(readFileSync(new URL('../../../examples/seed-custom-elu.json', import.meta.url), 'utf8')) as unknown;
    expect(example).toEqual(seedNetworkWith(customEluWithBackward, seedNetworkJson));
    expect(validateNetwork(example).ok).toBe(true);
  });

  it('infers a size the forward changes, and checks a given outputSize against it', () => {
    const pooled = validateNetwork(withCustom({ forward: 'mean(x, "spatial") * alpha', backward: undefined, outputSize: [1, 1, 20] }));
    if (!pooled.ok) throw new Error(pooled.problems.map((p) => p.message).join('\n'));
    expect(pooled.value.layers[3]!.outputSize).toEqual([1, 1, 20]);
    expect(pooled.value.layers[4]!.learnables).toBe(20 * 10 + 10);
    expect(problems(withCustom({ outputSize: [24, 24, 10] }))).toContainEqual({
      path: 'layers[3].outputSize',
      message: 'layers[3] (custom): outputSize: outputSize [24, 24, 10] is not the [24, 24, 20] the forward gives',
    });
  });

  it('resolves learnable shapes: perChannel, scalar, explicit extents aligned from the right', () => {
    const result = validateNetwork(
      withCustom({
        learnables: { a: { shape: 'scalar', initializer: 0.25 }, b: { shape: [24, 1, 20], initializer: 'glorot' }, c: { shape: [20] } },
        forward: 'a * x + b + c',
        backward: undefined,
      }),
    );
    if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
    expect(result.value.layers[3]!.learnables).toBe(1 + 24 * 20 + 20);
    expect(problems(withCustom({ learnables: { alpha: { shape: [5] } } }))).toContainEqual({
      path: 'layers[3].learnables.alpha.shape',
      message: 'layers[3] (custom): learnables.alpha.shape: shape [5] does not fit the 24x24x20 input: its channel extent 5 is neither 1 nor 20',
    });
  });

  it.each([
    ['unknown name', { forward: 'x > 0 ? x : alpah * (exp(min(x, 0)) - 1)' }, 'layers[3].forward', "forward: unknown name 'alpah' at column 13 (known: x, alpha)"],
    ['z outside backward', { forward: 'x + z' }, 'layers[3].forward', "forward: unknown name 'z' at column 5 (known: x, alpha)"],
    ['a misspelt function', { forward: 'expp(x)' }, 'layers[3].forward', "forward: unknown function 'expp' at column 1 (known: exp, log, log1p, sqrt, abs, sign, tanh, sigmoid, softplus, relu, min, max, pow, clip, sum, mean)"],
    ['a function used as a name', { forward: 'exp * x' }, 'layers[3].forward', "forward: 'exp' at column 1 is a function: call it as exp(v)"],
    ['a name called', { forward: 'alpha(x)' }, 'layers[3].forward', "forward: 'alpha' at column 1 is not a function"],
    ['wrong arity', { forward: 'x > 0 ? x : alpha * (exp(min(x)) - 1)' }, 'layers[3].forward', 'forward: min(a, b) takes 2 arguments, not 1, at column 26'],
    ['wrong arity of clip', { forward: 'clip(x, 0)' }, 'layers[3].forward', 'forward: clip(v, lo, hi) takes 3 arguments, not 2, at column 1'],
    ['misspelt axes', { backward: { x: 'dz', alpha: 'sum(dz, "spatail+batch")' } }, 'layers[3].backward.alpha', "backward.alpha: unknown axes 'spatail' at column 9 (known: batch, height, width, channel, spatial, all; join them with +)"],
    ['axes that are not a string', { backward: { x: 'dz', alpha: 'sum(dz, 1)' } }, 'layers[3].backward.alpha', 'backward.alpha: the axes of sum at column 9 must be a string such as "spatial" (known: batch, height, width, channel, spatial, all; join them with +)'],
    ['a stray string', { forward: 'x + "1"' }, 'layers[3].forward', 'forward: a string is only allowed as the axes of sum or mean, not at column 5'],
    ['a syntax error in backward', { backward: { x: 'dz * ((x > 0) + (alpha + z) * (x <= 0)', alpha: 'sum(dz, "spatial+batch")' } }, 'layers[3].backward.x', "backward.x: expected ')' at column 39 to match '(' at column 6, found the end of the expression"],
    ['an unreduced dAlpha', { backward: { x: 'dz', alpha: 'dz * (exp(min(x, 0)) - 1)' } }, 'layers[3].backward.alpha', 'backward.alpha: the result (from column 1) has shape [N, 24, 24, 20] but the shape of alpha ("perChannel") is [1, 1, 1, 20]; sum it over "spatial+batch"'],
    ['an over-reduced dAlpha', { backward: { x: 'dz', alpha: 'sum(dz, "all")' } }, 'layers[3].backward.alpha', 'backward.alpha: the result (from column 1) has shape [1, 1, 1, 1] but the shape of alpha ("perChannel") is [1, 1, 1, 20]'],
    ['a dX of the wrong shape', { backward: { x: 'sum(dz, "channel")', alpha: 'sum(dz, "spatial+batch")' } }, 'layers[3].backward.x', "backward.x: the result (from column 1) has shape [N, 24, 24, 1] but x's shape is [N, 24, 24, 20]"],
    ['a forward that ignores x', { forward: 'alpha * 2', backward: undefined }, 'layers[3].forward', 'forward: the result (from column 1) has shape [1, 1, 1, 20]: it does not vary by observation; a forward must use x'],
    ['too long', { forward: `x${' + x'.repeat(300)}` }, 'layers[3].forward', 'forward: too long: 1201 characters, more than the 1000 allowed (from column 1001)'],
    ['too deep', { forward: `${'exp('.repeat(40)}x${')'.repeat(40)}` }, 'layers[3].forward', 'forward: too deep: more than 32 levels of nesting at column 132'],
    ['a missing backward entry', { backward: { x: 'dz' } }, 'layers[3].backward', 'backward has no expression for alpha (it needs one for each of: x, alpha)'],
    ['a backward for an unknown tensor', { backward: { x: 'dz', alpha: 'sum(dz, "spatial+batch")', beta: 'dz' } }, 'layers[3].backward.beta', "backward.beta: 'beta' is neither x nor a learnable (backward needs: x, alpha)"],
    ['a reserved learnable name', { learnables: { exp: {} }, forward: 'x', backward: undefined }, 'layers[3].learnables.exp', "'exp' is reserved (x, z, dz and the function names); name the learnable otherwise"],
    ['a bad initializer', { learnables: { alpha: { initializer: 'uniform' } } }, 'layers[3].learnables.alpha.initializer', 'learnables.alpha.initializer must be one of "rand", "zeros", "ones", "glorot" or a number, not "uniform"'],
    ['an unknown learnable field', { learnables: { alpha: { size: 3 } } }, 'layers[3].learnables.alpha.size', "unknown field 'learnables.alpha.size' (known: shape, initializer)"],
    ['a forward that is not a string', { forward: 3 }, 'layers[3].forward', 'forward must be an expression in a string, not 3'],
  ])('reports %s with its path and position', (_what, fields, path, message) => {
    expect(problems(withCustom(fields))).toContainEqual({ path, message: `layers[3] (custom): ${message}` });
  });

  it('reports every mistake at once', () => {
    const found = problems(withCustom({ forward: 'x * alpah + bta', backward: { x: 'dz * zz', alpha: 'sum(dz, "all")' } }));
    expect(found.map((p) => p.message.replace(/^layers\[3\] \(custom\): /, ''))).toEqual([
      "forward: unknown name 'alpah' at column 5 (known: x, alpha)",
      "forward: unknown name 'bta' at column 13 (known: x, alpha)",
      "backward.x: unknown name 'zz' at column 6 (known: x, alpha, z, dz)",
    ]);
  });

  it('checks what it can when the input size is unknown (an earlier layer is wrong)', () => {
    const network = withCustom({ forward: 'x * alpah', learnables: { alpha: { shape: [5] } } });
    network.layers[1] = { type: 'convolution2d', filterSize: 99, numFilters: 20 };
    const found = problems(network).map((p) => p.path);
    expect(found).toContain('layers[3].forward');
    expect(found).not.toContain('layers[3].learnables.alpha.shape');
  });

  it('works after a fully connected layer, on [1, 1, k]', () => {
    const network = structuredClone(seedNetworkJson);
    network.layers.splice(5, 0, { type: 'custom', forward: 'tanh(x) * w', learnables: { w: { initializer: 'ones' } } });
    const result = validateNetwork(network);
    if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('\n'));
    expect(result.value.layers[5]).toMatchObject({ name: 'custom_1', inputSize: [1, 1, 10], outputSize: [1, 1, 10], learnables: 10 });
  });
});

describe('validateCustomLayer', () => {
  it('validates one layer for an input size, with paths under "layer"', () => {
    const ok = validateCustomLayer(customEluWithBackward, [8, 8, 3]);
    expect(ok.ok && ok.value).toMatchObject({ type: 'custom', name: 'myElu', inputSize: [8, 8, 3], outputSize: [8, 8, 3], learnables: 3 });
    const bad = validateCustomLayer({ ...customEluWithBackward, type: 'elu', extra: 1 }, [8, 8, 3]);
    expect(!bad.ok && bad.problems).toEqual([
      { path: 'layer.type', message: 'layer: type must be "custom", not "elu"' },
      { path: 'layer.extra', message: "layer: unknown field 'extra' (known: type, name, learnables, forward, backward, outputSize)" },
    ]);
  });

  it('never throws on random expressions: every problem has its field and a column', () => {
    const alphabet = ['x', 'alpha', 'z', 'dz', 'exp(', 'sum(', 'min(', 'clip(', '(', ')', ',', '+', '-', '*', '^', '?', ':', '>', '!', '1', '"spatial"', '"batch+all"', "'", ' '];
    let seed = 99;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const expression = () => Array.from({ length: 1 + random(16) }, () => alphabet[random(alphabet.length)]).join('');
    let valid = 0;
    for (let i = 0; i < 1500; i++) {
      const layer = { ...customEluWithBackward, forward: expression(), backward: { x: expression(), alpha: expression() } };
      const result = validateCustomLayer(layer, [4, 4, 3]);
      if (result.ok) {
        valid++;
        continue;
      }
      for (const p of result.problems) {
        expect(['layer.forward', 'layer.backward.x', 'layer.backward.alpha']).toContain(p.path);
        expect(p.message).toMatch(/column \d+/);
      }
    }
    expect(valid).toBeGreaterThanOrEqual(0);
  });
});
