import { api } from './api.js';
import type { DatasetDescription } from './api-types.js';
import { h } from './dom.js';
import { tileCanvases } from './sprite-tiles.js';

/**
 * A few training images of each class, a row per class: the API's samples strip (fetched with the
 * key), cut into one canvas per image.
 */
export function sampleGrid(datasetId: string, description: DatasetDescription): HTMLElement {
  const [height = 0, width = 0] = description.size;
  const status = h('p', { role: 'status', class: 'hint' }, 'Loading the images…');
  const rows = h('div', { class: 'samples' });
  api.datasetSamples(datasetId).then(
    async ({ image, counts }) => {
      const tiles = counts.flatMap((n, k) => Array.from({ length: n }, (_, t) => ({ x: t * width, y: k * height, label: `${description.classes[k]} image ${t + 1}` })));
      const canvases = await tileCanvases(image, description.size, tiles);
      let next = 0;
      counts.forEach((n, k) => {
        const name = description.classes[k]!;
        rows.append(h('div', { class: 'sample-row', 'data-class': name }, h('span', { class: 'sample-class' }, name), h('div', { class: 'sample-tiles' }, ...canvases.slice(next, next + n))));
        next += n;
      });
      const shown = counts.length < description.classes.length ? `the first ${counts.length} of ${description.classes.length} classes` : 'each class';
      status.textContent = `Training images of ${shown}, as stored (${width}×${height}).`;
    },
    (err: unknown) => {
      status.textContent = `The images could not be loaded: ${(err as Error).message}`;
    },
  );
  return h('div', {}, status, rows);
}
