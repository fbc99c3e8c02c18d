/**
 * Building elements. Text from the API (job names, error messages) only ever becomes text nodes
 * and attribute values here, never markup, so a job named "<img onerror=...>" is just a name.
 */
type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, '');
    else if (typeof value === 'string') element.setAttribute(name, value);
  }
  element.append(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  return element;
}

/** A definition list from label/value pairs (values that are empty are left out). */
export function facts(pairs: [string, Child][], attributes: Record<string, string> = {}): HTMLDListElement {
  return h('dl', { class: 'facts', ...attributes }, ...pairs.filter(([, v]) => v !== '' && v !== null && v !== undefined).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** `h` for SVG: the same safety (text stays text), in the SVG namespace. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attributes: Record<string, string | number> = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const element = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  return element;
}
