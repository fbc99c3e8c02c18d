import { parseRoute, type Route } from './router.js';
import type { View } from './view.js';
import { datasetView } from './views/dataset-view.js';
import { datasetsView } from './views/datasets-view.js';
import { jobView } from './views/job-view.js';
import { jobsView } from './views/jobs-view.js';
import { modelView } from './views/model-view.js';

/** The page's entry: shows the view the URL's fragment names, and the next one when it changes. */
const main = document.getElementById('main')!;
let current: View | null = null;

function viewFor(route: Route): View {
  switch (route.view) {
    case 'jobs':
      return jobsView(route.dataset);
    case 'job':
      return jobView(route.id);
    case 'model':
      return modelView(route.id);
    case 'datasets':
      return datasetsView();
    case 'dataset':
      return datasetView(route.id);
  }
}

function show(route: Route, moveFocus: boolean): void {
  current?.dispose();
  current = viewFor(route);
  main.replaceChildren(current.element);
  // A new view is like a new page: a screen reader starts at its heading, the window at the top.
  if (moveFocus) {
    current.element.querySelector<HTMLElement>('h1')?.focus();
    window.scrollTo(0, 0);
  }
}

// The skip link moves the focus without touching the fragment, which holds the view.
document.querySelector('.skip-link')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => {
  const route = parseRoute(location.hash);
  if (route) show(route, true);
});
show(parseRoute(location.hash) ?? { view: 'jobs' }, false);
