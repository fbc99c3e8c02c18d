import { api } from '../api.js';
import type { Dataset } from '../api-types.js';
import { imageCount, imageSize } from '../dataset-description.js';
import { h } from '../dom.js';
import * as format from '../format.js';
import { PolledTable } from '../polled-table.js';
import { href } from '../router.js';

const columns = ['Name', 'Status', 'Images', 'Classes', 'Size', 'Stored', 'Uploaded'];

/** The tenant's datasets, newest first; refreshed every two seconds while one of them ingests. */
export class DatasetList {
  private readonly table = new PolledTable<Dataset>({
    className: 'datasets',
    what: 'dataset list',
    columns,
    empty: 'No datasets yet: upload one above.',
    load: async () => (await api.listDatasets()).datasets,
    show: (datasets, body) => body.replaceChildren(...datasets.map(row)),
    nextInMs: (datasets) => (datasets.some((d) => d.status === 'ingesting') ? 2000 : null),
  });
  readonly element = this.table.element;

  dispose(): void {
    this.table.dispose();
  }

  refresh(): Promise<void> {
    return this.table.refresh();
  }
}

function row(dataset: Dataset): HTMLTableRowElement {
  const d = dataset.description;
  const progress = dataset.status === 'ingesting' && dataset.progress ? ` ${format.percent(dataset.progress.read / Math.max(1, dataset.progress.total), 0)}` : '';
  return h(
    'tr',
    { 'data-dataset': dataset.id },
    h('td', {}, h('a', { href: href({ view: 'dataset', id: dataset.id }) }, dataset.name)),
    h('td', {}, h('span', { class: `status status-${dataset.status}` }, `${dataset.status}${progress}`)),
    h('td', {}, d ? imageCount(d).toLocaleString() : ''),
    h('td', {}, d ? String(d.classes.length) : ''),
    h('td', {}, d ? imageSize(d) : ''),
    h('td', {}, dataset.status === 'ready' ? format.bytes(dataset.bytes) : ''),
    h('td', {}, format.dateTime(dataset.createdAt)),
  );
}
