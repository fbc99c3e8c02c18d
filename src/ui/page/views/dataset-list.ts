import { api } from '../api.js';
import type { Dataset } from '../api-types.js';
import { imageCount, imageSize } from '../dataset-description.js';
import { h } from '../dom.js';
import * as format from '../format.js';
import { href } from '../router.js';

const columns = ['Name', 'Status', 'Images', 'Classes', 'Size', 'Stored', 'Uploaded'];

/** The tenant's datasets, newest first; refreshed every two seconds while one of them ingests. */
export class DatasetList {
  readonly element: HTMLElement;
  private readonly body = h('tbody');
  private readonly empty = h('p', { class: 'empty', hidden: true }, 'No datasets yet: upload one above.');
  private readonly error = h('p', { class: 'error', role: 'status' });
  private timer: number | undefined;
  private disposed = false;

  constructor() {
    const table = h('table', { class: 'datasets' }, h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col' }, c)))), this.body);
    this.element = h('div', { class: 'dataset-list' }, this.error, h('div', { class: 'table-scroll' }, table), this.empty);
    void this.refresh();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
  }

  async refresh(): Promise<void> {
    clearTimeout(this.timer);
    let datasets: Dataset[] = [];
    try {
      datasets = (await api.listDatasets()).datasets;
      this.body.replaceChildren(...datasets.map(row));
      this.empty.hidden = datasets.length > 0;
      this.error.textContent = '';
    } catch (err) {
      this.error.textContent = `The dataset list could not be loaded: ${(err as Error).message}.`;
    }
    if (!this.disposed && datasets.some((d) => d.status === 'ingesting')) this.timer = window.setTimeout(() => void this.refresh(), 2000);
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
