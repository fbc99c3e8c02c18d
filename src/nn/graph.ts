import { Fields } from './fields.js';
import { describe, isPlainObject, type Problem } from './problems.js';

/**
 * How the layers of a network are wired, MATLAB's layerGraph from a list plus connectLayers: each
 * layer feeds the next one in the list unless a connection names that one's input, and
 * `connections` adds the rest ({"from": "conv_1", "to": "add_1/in2"}). What is wired where is
 * decided here, by names and list positions only; validateNetwork (spec.ts) then reads each layer
 * in `order`, checks every input against the number the layer takes, and infers sizes.
 */

/** What wiring needs of a layer: its name (null when it has none yet: a layer too broken to read) and type. */
export interface WiringNode {
  name: string | null;
  type: string | null;
}

export interface Wiring {
  /** Per layer (list order), the list index of the layer feeding each input: [in1, in2, ...]; holes are unconnected. */
  sources: (number | undefined)[][];
  /** Per layer and input, where it was wired: a connection's JSON path, or null for the list order. */
  given: (string | null)[][];
  /** Every layer once, each after the layers that feed it; layers on or after a cycle last, in list order. */
  order: number[];
  /** Per layer, how many inputs its output feeds. */
  uses: number[];
}

/** `name` or `name/inN`: a layer's input (in1 when it is left out). */
const target = /^([A-Za-z][A-Za-z0-9_.-]*)(?:\/in([1-9][0-9]?))?$/;

/**
 * Wires the layers. `connections` is the user's field as sent (undefined for a plain chain, where
 * every layer simply feeds the next); every problem in it is pushed with its JSON path.
 */
export function wireLayers(nodes: WiringNode[], connections: unknown, maxConnections: number, problems: Problem[]): Wiring {
  const sources: (number | undefined)[][] = nodes.map(() => []);
  const given: (string | null)[][] = nodes.map(() => []);
  const byName = new Map<string, number>();
  nodes.forEach((node, i) => node.name !== null && !byName.has(node.name) && byName.set(node.name, i));

  const graph = connections !== undefined;
  if (graph) readConnections(connections, maxConnections, nodes, byName, sources, given, problems);
  // The list order: each layer feeds the next one's in1, unless a connection gave that input. An
  // image input takes nothing, and in a graph a classification output feeds nothing, so a list may
  // hold separate runs of layers (a shortcut branch after the output, say).
  for (let i = 1; i < nodes.length; i++) {
    if (nodes[i]!.type === 'imageInput' || (graph && nodes[i - 1]!.type === 'classification')) continue;
    if (given[i]![0] !== undefined) continue;
    sources[i]![0] = i - 1;
    given[i]![0] = null;
  }

  const uses = nodes.map(() => 0);
  for (const slots of sources) for (const s of slots) if (s !== undefined) uses[s]!++;
  const order = topologicalOrder(sources);
  if (order.length < nodes.length) problems.push({ path: graph ? 'connections' : 'layers', message: cycleMessage(sources, new Set(order), nodes) });
  const placed = new Set(order);
  nodes.forEach((_, i) => placed.has(i) || order.push(i));
  return { sources, given, order, uses };
}

function readConnections(
  raw: unknown,
  maxConnections: number,
  nodes: WiringNode[],
  byName: Map<string, number>,
  sources: (number | undefined)[][],
  given: (string | null)[][],
  problems: Problem[],
): void {
  if (!Array.isArray(raw)) {
    problems.push({ path: 'connections', message: `connections must be a list of {"from": "layer", "to": "layer/inN"}, not ${describe(raw)}` });
    return;
  }
  if (raw.length > maxConnections) {
    problems.push({ path: 'connections', message: `the network has ${raw.length} connections; the limit is ${maxConnections}` });
    return;
  }
  raw.forEach((connection, k) => {
    const path = `connections[${k}]`;
    if (!isPlainObject(connection)) {
      problems.push({ path, message: `${path}: a connection must be an object {"from": "layer", "to": "layer/inN"}, not ${describe(connection)}` });
      return;
    }
    const f = new Fields(connection, path, path, problems);
    const from = f.string('from', { maxLength: 80 });
    const to = f.string('to', { maxLength: 80 });
    if (from === undefined && !f.has('from')) f.problem('from', 'from is required: the name of the layer whose output it connects');
    if (to === undefined && !f.has('to')) f.problem('to', 'to is required: the name of a layer, with /inN for one of several inputs (add_1/in2)');
    f.rejectUnknown();
    const source = from === undefined ? undefined : byName.get(from);
    if (from !== undefined && source === undefined) f.problem('from', `there is no layer named "${from}"`);
    if (source !== undefined && nodes[source]!.type === 'classification') f.problem('from', `"${from}" is a classification output: it has no output to connect`);
    if (to === undefined) return;
    const match = target.exec(to);
    if (!match) {
      f.problem('to', `to "${to}" must be a layer name, or a layer name and an input as in "add_1/in2"`);
      return;
    }
    const layer = byName.get(match[1]!);
    if (layer === undefined) {
      f.problem('to', `there is no layer named "${match[1]}"`);
      return;
    }
    const slot = Number(match[2] ?? 1) - 1;
    const earlier = given[layer]![slot];
    if (earlier !== undefined) {
      f.problem('to', `${match[1]}/in${slot + 1} is already connected by ${earlier}; an input takes one connection`);
      return;
    }
    if (source === undefined) return;
    sources[layer]![slot] = source;
    given[layer]![slot] = path;
  });
}

/** Kahn's order, always taking the first ready layer in the list, so that a chain keeps its list order. */
function topologicalOrder(sources: (number | undefined)[][]): number[] {
  const order: number[] = [];
  const placed = new Set<number>();
  const ready = (i: number) => sources[i]!.every((s) => s === undefined || placed.has(s));
  for (let progress = true; progress; ) {
    progress = false;
    for (let i = 0; i < sources.length; i++) {
      if (placed.has(i) || !ready(i)) continue;
      order.push(i);
      placed.add(i);
      progress = true;
      break;
    }
  }
  return order;
}

/** Names one cycle among the layers that could not be placed: walk back through unplaced inputs until one repeats. */
function cycleMessage(sources: (number | undefined)[][], placed: Set<number>, nodes: WiringNode[]): string {
  let at = sources.findIndex((_, i) => !placed.has(i));
  const seen: number[] = [];
  while (!seen.includes(at)) {
    seen.push(at);
    at = sources[at]!.find((s) => s !== undefined && !placed.has(s))!;
  }
  const cycle = seen.slice(seen.indexOf(at)).reverse();
  const label = (i: number) => nodes[i]!.name ?? `layers[${i}]`;
  return `the layers ${[...cycle, cycle[0]!].map(label).join(' → ')} form a cycle; a layer's output cannot feed back into it`;
}
