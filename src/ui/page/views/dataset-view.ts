import { api, ApiError } from '../api.js';
import type { Dataset } from '../api-types.js';
import { classCounts, descriptionFacts, leftOut } from '../dataset-description.js';
import { h } from '../dom.js';
import { IngestionProgress } from '../ingestion-progress.js';
import { href } from '../router.js';
import { sampleGrid } from '../sample-grid.js';
import { setTitle, type View } from '../view.js';

/**
 * One dataset: its ingestion while it runs, then what it holds (class counts per split, a few
 * images of each class, what was left out) or why it failed; a link to train on it, and Delete.
 */
export function datasetView(id: string): View {
  setTitle('Dataset');
  const heading = h('h1', { tabindex: '-1' }, 'Dataset');
  const status = h('p', { role: 'status' }, 'Loading the dataset…');
  const body = h('div', {});
  const element = h('div', { class: 'dataset-view' }, h('p', { class: 'breadcrumb' }, h('a', { href: href({ view: 'datasets' }) }, '← All datasets')), heading, status, body);
  let ingestion: IngestionProgress | null = null;

  const show = (dataset: Dataset) => {
    heading.textContent = `Dataset: ${dataset.name}`;
    setTitle(`Dataset ${dataset.name}`);
    status.textContent = '';
    body.replaceChildren();
    if (dataset.status === 'ingesting') {
      ingestion = new IngestionProgress(id, () => void load());
      body.append(ingestion.element);
      return;
    }
    if (dataset.status === 'failed') {
      body.append(h('div', { class: 'ending-failed', role: 'alert' }, h('p', {}, h('strong', {}, 'Ingestion failed'), `: ${dataset.error ?? 'no reason was recorded'}`)), deleteButton(dataset));
      return;
    }
    const d = dataset.description!;
    const dropped = leftOut(d);
    body.append(
      h('p', { class: 'actions' }, h('a', { class: 'button', href: href({ view: 'jobs', dataset: dataset.id }) }, 'Train a network on it'), ' ', deleteButton(dataset)),
      descriptionFacts(dataset, d),
      h('h2', {}, 'Classes'),
      classCounts(d),
      h('h2', {}, 'Sample images'),
      sampleGrid(id, d),
      ...(dropped ? [h('h2', {}, 'Left out'), dropped] : []),
    );
  };
  const load = () =>
    api.dataset(id).then(show, (err: unknown) => {
      status.textContent = err instanceof ApiError && err.status === 404 ? `There is no dataset ${id}.` : `The dataset could not be loaded: ${(err as Error).message}`;
    });

  /** Deletes the dataset (after asking), then goes back to the list. */
  const deleteButton = (dataset: Dataset) => {
    const button = h('button', { type: 'button', class: 'secondary' }, 'Delete');
    button.addEventListener('click', async () => {
      if (!confirm(`Delete ${dataset.name}? Models trained on it keep working.`)) return;
      button.disabled = true;
      try {
        await api.deleteDataset(dataset.id);
        location.hash = href({ view: 'datasets' });
      } catch (err) {
        status.textContent = `The dataset could not be deleted: ${(err as Error).message}`;
        button.disabled = false;
      }
    });
    return button;
  };

  void load();
  return { element, dispose: () => ingestion?.close() };
}
