/** Every name Object.prototype has: constructor, toString, __proto__, hasOwnProperty, ... */
export const builtIns = Object.getOwnPropertyNames(Object.prototype);

/** The same JSON with one extra key first; JSON.parse makes even "__proto__" an own key, as a request body's parser does. */
export function withKey(key: string, value: unknown, rest: object = {}): Record<string, unknown> {
  const tail = JSON.stringify(rest).slice(1);
  return JSON.parse(`{${JSON.stringify(key)}: ${JSON.stringify(value)}${tail === '}' ? '' : ','}${tail}`) as Record<string, unknown>;
}

/** A custom layer with `name` in one position; JSON.parse, as the API reads a body, so "__proto__" is an own key. */
export function layersWithName(name: string): [string, unknown][] {
  const layer = (fields: Record<string, unknown>) => JSON.parse(JSON.stringify({ type: 'custom', name: 'c', learnables: { alpha: {} }, forward: 'x * alpha', ...fields })) as unknown;
  return [
    ['a function', layer({ forward: `${name}(x) * alpha` })],
    ['a name', layer({ forward: `x * ${name}` })],
    ['a name in backward', layer({ backward: { x: `dz * ${name}`, alpha: 'sum(dz * x, "spatial+batch")' } })],
    ['an axis word', layer({ forward: `sum(x, "${name}") * alpha` })],
    ['an axis word after +', layer({ forward: `sum(x, "spatial+${name}") * alpha` })],
    ['a learnable', layer({ learnables: withKey(name, {}), forward: `x * ${name}` })],
    ['a learnable missing from backward', layer({ learnables: withKey(name, {}), forward: `x * ${name}`, backward: { x: 'dz' } })],
    ['a backward key', layer({ backward: { x: 'dz * alpha', alpha: 'sum(dz * x, "spatial+batch")', ...withKey(name, 'dz') } })],
    ['a learnable field', layer({ learnables: { alpha: withKey(name, 1) } })],
    ['a learnable shape', layer({ learnables: { alpha: { shape: name } } })],
    ['a learnable initializer', layer({ learnables: { alpha: { initializer: name } } })],
    ['a layer field', withKey(name, 1, layer({}) as object)],
  ];
}

