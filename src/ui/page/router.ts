/**
 * The page's views live in the URL's fragment (#/jobs/<id>), so the document's own path never
 * changes: relative URLs keep resolving against it under any prefix, and a reload lands on the
 * same view. Fragments that are not routes (a skip link's #main) are left to the browser.
 */
export type Route = { view: 'jobs'; dataset?: string } | { view: 'job'; id: string } | { view: 'model'; id: string } | { view: 'datasets' } | { view: 'dataset'; id: string };

const resources = new Map([
  ['jobs', 'job'],
  ['models', 'model'],
  ['datasets', 'dataset'],
] as const);

export function parseRoute(hash: string): Route | null {
  if (hash === '' || hash === '#' || hash === '#/') return { view: 'jobs' };
  // The home view with the job form set to a dataset (a dataset view's "Train on it").
  const training = /^#\/\?dataset=([^&#]+)$/.exec(hash);
  if (training) return { view: 'jobs', dataset: decodeURIComponent(training[1]!) };
  if (hash === '#/datasets') return { view: 'datasets' };
  const match = /^#\/(jobs|models|datasets)\/([^/?#]+)$/.exec(hash);
  if (!match) return null;
  return { view: resources.get(match[1] as 'jobs' | 'models' | 'datasets')!, id: decodeURIComponent(match[2]!) };
}

export function href(route: Route): string {
  switch (route.view) {
    case 'jobs':
      return route.dataset ? `#/?dataset=${encodeURIComponent(route.dataset)}` : '#/';
    case 'datasets':
      return '#/datasets';
    case 'job':
      return `#/jobs/${encodeURIComponent(route.id)}`;
    case 'model':
      return `#/models/${encodeURIComponent(route.id)}`;
    case 'dataset':
      return `#/datasets/${encodeURIComponent(route.id)}`;
  }
}
