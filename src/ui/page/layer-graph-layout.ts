/**
 * Where each layer of a network goes in its picture, as MATLAB's plot(lgraph) draws it: top to
 * bottom by depth. A layered (Sugiyama-style) layout kept small: longest-path layering, a waypoint
 * on every row an edge passes, a few barycentre sweeps against crossings, then columns pulled
 * towards each node's neighbours, so a chain is one column and a skip connection runs beside it.
 * Plain data in and out (no DOM), so it is tested on its own.
 */

/** A layer as POST /v1/networks/analyze gives it: its name and the layers feeding it, in1 first. */
export interface GraphLayer {
  name: string;
  inputs: string[];
}

/** A layer's cell: `row` is its depth (0 for the input), `column` a small integer. */
export interface Placed {
  row: number;
  column: number;
}

/** One edge, from a layer's output to one of another's inputs, through a waypoint on each row between them. */
export interface PlacedEdge {
  from: string;
  to: string;
  points: Placed[];
}

export interface Layout {
  nodes: Map<string, Placed>;
  edges: PlacedEdge[];
  rows: number;
  columns: number;
}

/** Passes of crossing reduction and of column straightening: a few are plenty for networks of tens of layers. */
const sweeps = 4;

export function layoutGraph(layers: readonly GraphLayer[]): Layout {
  const known = new Map(layers.map((l) => [l.name, l]));
  const links = layers.flatMap((l) => l.inputs.filter((from) => known.has(from)).map((from) => ({ from, to: l.name })));
  const row = longestPathRows(layers, known);

  // Every edge longer than one row passes through a waypoint on each row between its ends.
  type Cell = { id: string; row: number };
  const cells = new Map<string, Cell>(layers.map((l) => [l.name, { id: l.name, row: row.get(l.name)! }]));
  const paths = links.map(({ from, to }, e) => {
    const path = [from];
    for (let r = row.get(from)! + 1; r < row.get(to)!; r++) {
      const id = `\u0000${e}:${r}`;
      cells.set(id, { id, row: r });
      path.push(id);
    }
    path.push(to);
    return { from, to, path };
  });
  const above = new Map<string, string[]>([...cells.keys()].map((id) => [id, []]));
  const below = new Map<string, string[]>([...cells.keys()].map((id) => [id, []]));
  for (const { path } of paths) {
    for (let i = 1; i < path.length; i++) {
      above.get(path[i]!)!.push(path[i - 1]!);
      below.get(path[i - 1]!)!.push(path[i]!);
    }
  }

  const rows: string[][] = [];
  for (const cell of cells.values()) (rows[cell.row] ??= []).push(cell.id);
  const order = reduceCrossings(rows, above, below);
  const column = straighten(order, above, below);

  const at = (id: string): Placed => ({ row: cells.get(id)!.row, column: column.get(id)! });
  return {
    nodes: new Map(layers.map((l) => [l.name, at(l.name)])),
    edges: paths.map(({ from, to, path }) => ({ from, to, points: path.map(at) })),
    rows: rows.length,
    columns: Math.max(0, ...column.values()) + 1,
  };
}

/** Each layer's depth: one more than its deepest input (a valid network has no cycle; one would be cut). */
function longestPathRows(layers: readonly GraphLayer[], known: Map<string, GraphLayer>): Map<string, number> {
  const row = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (name: string): number => {
    const done = row.get(name);
    if (done !== undefined) return done;
    if (visiting.has(name)) return 0;
    visiting.add(name);
    const inputs = known.get(name)!.inputs.filter((i) => known.has(i));
    const r = inputs.length ? Math.max(...inputs.map(depth)) + 1 : 0;
    visiting.delete(name);
    row.set(name, r);
    return r;
  };
  for (const l of layers) depth(l.name);
  return row;
}

/** Barycentre sweeps, down then up, keeping the order with the fewest crossings seen. */
function reduceCrossings(rows: string[][], above: Map<string, string[]>, below: Map<string, string[]>): string[][] {
  let order = rows.map((r) => [...r]);
  let best = order.map((r) => [...r]);
  let fewest = crossings(order, below);
  for (let sweep = 0; sweep < sweeps && fewest > 0; sweep++) {
    const down = sweep % 2 === 0;
    const range = down ? order.keys() : [...order.keys()].reverse();
    for (const r of range) {
      const neighbours = down ? above : below;
      const fixed = order[down ? r - 1 : r + 1];
      if (!fixed) continue;
      const index = new Map(fixed.map((id, i) => [id, i]));
      const centre = (id: string, i: number) => {
        const ns = neighbours.get(id)!;
        return ns.length ? ns.reduce((s, n) => s + index.get(n)!, 0) / ns.length : i;
      };
      const keyed = order[r]!.map((id, i) => ({ id, key: centre(id, i), i }));
      keyed.sort((a, b) => a.key - b.key || a.i - b.i);
      order[r] = keyed.map((k) => k.id);
    }
    const count = crossings(order, below);
    if (count < fewest) [fewest, best] = [count, order.map((r) => [...r])];
    order = best.map((r) => [...r]);
  }
  return best;
}

/** Pairs of edges between adjacent rows that cross. */
function crossings(order: string[][], below: Map<string, string[]>): number {
  let count = 0;
  for (let r = 0; r + 1 < order.length; r++) {
    const next = new Map(order[r + 1]!.map((id, i) => [id, i]));
    const edges = order[r]!.flatMap((id, i) => below.get(id)!.map((to) => [i, next.get(to)!] as const));
    for (let a = 0; a < edges.length; a++) {
      for (let b = a + 1; b < edges.length; b++) {
        const [a1, a2] = edges[a]!;
        const [b1, b2] = edges[b]!;
        if ((a1 - b1) * (a2 - b2) < 0) count++;
      }
    }
  }
  return count;
}

/**
 * Columns: each row left to right in its order, every cell at the median column of its neighbours
 * in the row above (then below, alternately) unless that would overlap the cell to its left.
 */
function straighten(order: string[][], above: Map<string, string[]>, below: Map<string, string[]>): Map<string, number> {
  const column = new Map<string, number>();
  for (const r of order) r.forEach((id, i) => column.set(id, i));
  for (let pass = 0; pass <= sweeps; pass++) {
    const neighbours = pass % 2 === 0 ? above : below;
    for (const r of order) {
      let next = 0;
      for (const id of r) {
        const ns = neighbours.get(id)!.map((n) => column.get(n)!).sort((a, b) => a - b);
        const wanted = ns.length ? ns[(ns.length - 1) >> 1]! : column.get(id)!;
        const c = Math.max(wanted, next);
        column.set(id, c);
        next = c + 1;
      }
    }
  }
  const least = Math.min(...column.values());
  for (const [id, c] of column) column.set(id, c - least);
  return column;
}
