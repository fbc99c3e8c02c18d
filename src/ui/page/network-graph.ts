import { api } from './api.js';
import type { NetworkAnalysis } from './api-types.js';
import { h, svg } from './dom.js';
import { layoutGraph, type Placed } from './layer-graph-layout.js';

/**
 * A network as MATLAB's analyzeNetwork shows it: the layer graph drawn top to bottom (a box per
 * layer with its name, type and output size; an arrow per connection) and, as its text
 * alternative, a table of the same layers. Sizes come from POST v1/networks/analyze, the one place
 * that infers them, so the page never works a size out itself.
 */
export function networkGraph(network: unknown): HTMLElement {
  const status = h('p', { role: 'status' }, 'Analysing the network…');
  const element = h('div', { class: 'network-graph' }, status);
  api.analyzeNetwork(network).then(
    (analysis) => element.replaceChildren(drawing(analysis), layerTable(analysis, network)),
    (err: unknown) => (status.textContent = `The network could not be analysed: ${(err as Error).message}`),
  );
  return element;
}

const box = { width: 184, height: 42 };
const cell = { width: 204, height: 64 };
const margin = 8;
const waypointWidth = 40;

/** Which colour a layer's box takes (MATLAB colours layers by kind too). */
function kindOf(type: string): string {
  if (type === 'imageInput' || type === 'classification') return 'io';
  if (type.startsWith('convolution') || type === 'fullyConnected') return 'weights';
  if (type === 'addition' || type.endsWith('oncatenation')) return 'merge';
  if (type.includes('ooling') || type === 'batchNormalization' || type === 'dropout') return 'reshape';
  if (type === 'custom') return 'custom';
  return 'activation';
}

const sizeText = (size: readonly number[]) => size.join('×');

/** Long names are cut in the box; the whole name is in its tooltip and the table. */
const fit = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function drawing(analysis: NetworkAnalysis): SVGSVGElement {
  const layout = layoutGraph(analysis.layers);
  // A column that only edges pass through (a skip connection's) is narrow.
  const boxed = new Set([...layout.nodes.values()].map((p) => p.column));
  const left = [margin];
  for (let c = 0; c < layout.columns; c++) left.push(left[c]! + (boxed.has(c) ? cell.width : waypointWidth));
  const centreX = (p: Placed) => left[p.column]! + (boxed.has(p.column) ? box.width / 2 : waypointWidth / 2);
  const top = (p: Placed) => margin + p.row * cell.height;
  const width = left[layout.columns]! + margin;
  const height = 2 * margin + (layout.rows - 1) * cell.height + box.height;
  const inputCount = new Map(analysis.layers.map((l) => [l.name, l.inputs.length]));
  const seen = new Map<string, number>();

  const edges = layout.edges.map(({ from, to, points }) => {
    // Inputs arrive side by side, in1 on the left, so an addition's two arrows stay apart.
    const slot = seen.get(to) ?? 0;
    seen.set(to, slot + 1);
    const spread = (slot - ((inputCount.get(to) ?? 1) - 1) / 2) * 14;
    // Out of a box's bottom, down through each row passed as a straight line beside its boxes, into the next box's top.
    const last = points.length - 1;
    const xy = points.flatMap((p, i) => {
      const x = centreX(p);
      if (i === 0) return [{ x, y: top(p) + box.height }];
      if (i === last) return [{ x: x + spread, y: top(p) }];
      return [{ x, y: top(p) }, { x, y: top(p) + box.height }];
    });
    let d = `M ${xy[0]!.x} ${xy[0]!.y}`;
    for (let i = 1; i < xy.length; i++) {
      const [a, b] = [xy[i - 1]!, xy[i]!];
      const mid = (a.y + b.y) / 2;
      d += ` C ${a.x} ${mid} ${b.x} ${mid} ${b.x} ${b.y}`;
    }
    const input = (inputCount.get(to) ?? 1) > 1 ? `${to}/in${slot + 1}` : to;
    return svg('path', { class: 'edge', d, 'marker-end': 'url(#arrow)', 'data-from': from, 'data-to': input }, svg('title', {}, `${from} → ${input}`));
  });

  const nodes = analysis.layers.map((layer) => {
    const p = layout.nodes.get(layer.name)!;
    const [x, y] = [centreX(p) - box.width / 2, top(p)];
    return svg(
      'g',
      { class: `node kind-${kindOf(layer.type)}`, 'data-name': layer.name },
      svg('title', {}, `${layer.name} (${layer.type}): ${sizeText(layer.outputSize)}, ${layer.learnables} learnables`),
      svg('rect', { x, y, width: box.width, height: box.height, rx: 5 }),
      svg('text', { x: x + box.width / 2, y: y + 17, class: 'node-name' }, fit(layer.name, 26)),
      svg('text', { x: x + box.width / 2, y: y + 33, class: 'node-detail' }, fit(`${layer.type} · ${sizeText(layer.outputSize)}`, 31)),
    );
  });

  return svg(
    'svg',
    {
      class: 'layer-graph',
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': `Layer graph: ${analysis.layers.length} layers, ${layout.edges.length} connections; the table lists them`,
    },
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z' }))),
    svg('g', { class: 'edges' }, ...edges),
    svg('g', { class: 'nodes' }, ...nodes),
  );
}

/** The text alternative, as analyzeNetwork's table: each layer's inputs, output size, learnables and parameters. */
function layerTable(analysis: NetworkAnalysis, network: unknown): HTMLElement {
  const listed = (network as { layers?: Record<string, unknown>[] }).layers ?? [];
  const parameters = (i: number) => {
    const { type: _type, name: _name, ...rest } = listed[i] ?? {};
    return Object.keys(rest).length ? JSON.stringify(rest) : '';
  };
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'layers' },
      h('caption', {}, `${analysis.layers.length} layers, ${analysis.learnables.toLocaleString('en')} learnables`),
      h('thead', {}, h('tr', {}, ...['#', 'Name', 'Type', 'Inputs', 'Output size', 'Learnables', 'Parameters'].map((c) => h('th', { scope: 'col' }, c)))),
      h(
        'tbody',
        {},
        ...analysis.layers.map((layer, i) =>
          h(
            'tr',
            {},
            h('td', {}, String(i + 1)),
            h('th', { scope: 'row' }, layer.name),
            h('td', {}, layer.type),
            h('td', {}, layer.inputs.join(', ')),
            h('td', { class: 'size' }, sizeText(layer.outputSize)),
            h('td', { class: 'number' }, layer.learnables.toLocaleString('en')),
            h('td', { class: 'code' }, parameters(i)),
          ),
        ),
      ),
    ),
  );
}
