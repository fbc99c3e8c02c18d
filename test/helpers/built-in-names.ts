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


/** The seed network with layers[3] replaced; the layer object is kept as is, so its own "__proto__" key survives JSON.stringify. */
export function networkWith(seed: { layers: Record<string, unknown>[] }, layer: unknown): Record<string, unknown> {
  return { ...seed, layers: seed.layers.map((l, i) => (i === 3 ? layer : l)) };
}

/** Job requests with `name` everywhere else a job's string becomes a key: a layer type, a field, an option, a dataset, ... */
export function jobsWithName(name: string, seed: { layers: Record<string, unknown>[] }): [string, unknown][] {
  return [
    ['a layer type', { network: networkWith(seed, { type: name }), dataset: 'digits' }],
    ['a layer field', { network: networkWith(seed, withKey(name, 1, seed.layers[3]!)), dataset: 'digits' }],
    ['a solver', { network: seed, dataset: 'digits', options: { solver: name } }],
    ['an option name', { network: seed, dataset: 'digits', options: withKey(name, 1) }],
    ['a dataset', { network: seed, dataset: name }],
    ['a dataset id', { network: seed, dataset: { id: name } }],
    ['a normalization', { network: { ...seed, layers: seed.layers.map((l, i) => (i === 0 ? { ...l, normalization: name } : l)) }, dataset: 'digits' }],
    ['a network field', { network: withKey(name, 1, seed), dataset: 'digits' }],
    ['a request field', withKey(name, 1, { network: seed, dataset: 'digits' })],
  ];
}

/** URLs with `name` as an id, a file name, a query value or a query parameter. */
export function urlsWithName(name: string): string[] {
  const word = encodeURIComponent(name);
  return [`/v1/jobs/${word}`, `/v1/jobs/${word}/events`, `/v1/models/${word}`, `/v1/models/${word}/files/${word}`, `/v1/jobs?status=${word}`, `/v1/jobs?cursor=${word}`, `/v1/jobs?${word}=1`];
}
