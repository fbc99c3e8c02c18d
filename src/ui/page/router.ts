/**
 * The page's views live in the URL's fragment (#/jobs/<id>), so the document's own path never
 * changes: relative URLs keep resolving against it under any prefix, and a reload lands on the
 * same view. Fragments that are not routes (a skip link's #main) are left to the browser.
 */
export type Route = { view: 'jobs' } | { view: 'job'; id: string } | { view: 'model'; id: string };

export function parseRoute(hash: string): Route | null {
  if (hash === '' || hash === '#' || hash === '#/') return { view: 'jobs' };
  const match = /^#\/(jobs|models)\/([^/?#]+)$/.exec(hash);
  if (!match) return null;
  const id = decodeURIComponent(match[2]!);
  return match[1] === 'jobs' ? { view: 'job', id } : { view: 'model', id };
}

export function href(route: Route): string {
  switch (route.view) {
    case 'jobs':
      return '#/';
    case 'job':
      return `#/jobs/${encodeURIComponent(route.id)}`;
    case 'model':
      return `#/models/${encodeURIComponent(route.id)}`;
  }
}
