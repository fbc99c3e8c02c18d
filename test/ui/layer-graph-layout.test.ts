import { describe, expect, it } from 'vitest';
import { layoutGraph, type GraphLayer, type Layout } from '../../src/ui/page/layer-graph-layout.js';

const chain = (names: string[]): GraphLayer[] => names.map((name, i) => ({ name, inputs: i ? [names[i - 1]!] : [] }));

/** The residual example's layers as POST /v1/networks/analyze gives them. */
const residual: GraphLayer[] = [
  ...chain(['imageinput', 'conv_1', 'bn_1', 'relu_1', 'conv_2', 'bn_2', 'relu_2', 'conv_3', 'bn_3']),
  { name: 'add_1', inputs: ['bn_3', 'relu_1'] },
  ...chain(['add_1', 'relu_3', 'fc', 'softmax', 'classoutput']).slice(1),
];

/** No two boxes or waypoints share a cell. */
function cellsTaken(layout: Layout): string[] {
  const nodes = [...layout.nodes.values()];
  const waypoints = layout.edges.flatMap((e) => e.points.slice(1, -1));
  return [...nodes, ...waypoints].map((p) => `${p.row},${p.column}`);
}

describe('the layer graph layout', () => {
  it('draws a chain as one column, a row per layer', () => {
    const layout = layoutGraph(chain(['in', 'conv', 'relu', 'fc', 'softmax', 'out']));
    expect([...layout.nodes.values()]).toEqual([0, 1, 2, 3, 4, 5].map((row) => ({ row, column: 0 })));
    expect(layout).toMatchObject({ rows: 6, columns: 1 });
    expect(layout.edges.every((e) => e.points.length === 2)).toBe(true);
  });

  it('keeps the residual block in a column with the skip connection beside it, through a waypoint per row it passes', () => {
    const layout = layoutGraph(residual);
    expect(layout.nodes.size).toBe(14);
    expect(layout.edges).toHaveLength(14);
    expect(layout).toMatchObject({ rows: 14, columns: 2 });
    for (const p of layout.nodes.values()) expect(p.column).toBe(0);
    expect(layout.nodes.get('add_1')!.row).toBe(9);
    const skip = layout.edges.find((e) => e.from === 'relu_1' && e.to === 'add_1')!;
    expect(skip.points.map((p) => p.row)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(skip.points.slice(1, -1).every((p) => p.column === 1)).toBe(true);
    expect(new Set(cellsTaken(layout)).size).toBe(cellsTaken(layout).length);
  });

  it('lays out branches listed after the output (a shortcut convolution) and two parallel paths into a concatenation without overlap', () => {
    const layers: GraphLayer[] = [
      ...chain(['in', 'conv_a', 'relu_a', 'pool_a']),
      { name: 'cat', inputs: ['pool_a', 'pool_b', 'short'] },
      ...chain(['cat', 'fc', 'out']).slice(1),
      { name: 'conv_b', inputs: ['in'] },
      { name: 'pool_b', inputs: ['conv_b'] },
      { name: 'short', inputs: ['in'] },
    ];
    const layout = layoutGraph(layers);
    expect(layout.nodes.get('cat')!.row).toBe(4);
    expect(layout.nodes.get('out')!.row).toBe(6);
    expect(layout.edges).toHaveLength(layers.reduce((n, l) => n + l.inputs.length, 0));
    expect(new Set(cellsTaken(layout)).size).toBe(cellsTaken(layout).length);
    // Every edge goes down one row per step.
    for (const e of layout.edges) e.points.slice(1).forEach((p, i) => expect(p.row).toBe(e.points[i]!.row + 1));
  });
});
