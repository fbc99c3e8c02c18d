import { describe, expect, it } from 'vitest';
import { href, parseRoute, type Route } from '../../src/ui/page/router.js';

describe('the page router', () => {
  it('reads the view from the fragment and writes it back', () => {
    const routes: Route[] = [{ view: 'jobs' }, { view: 'job', id: '01J0000000000000000000000A' }, { view: 'model', id: 'my model/1' }, { view: 'jobs', dataset: '01J0000000000000000000000C' }, { view: 'datasets' }, { view: 'dataset', id: '01J0000000000000000000000B' }];
    for (const route of routes) expect(parseRoute(href(route))).toEqual(route);
    expect(parseRoute('')).toEqual({ view: 'jobs' });
  });

  it('leaves fragments that are not views (a skip link) alone', () => {
    expect(parseRoute('#main')).toBeNull();
    expect(parseRoute('#/jobs/')).toBeNull();
    expect(parseRoute('#/datasets/')).toBeNull();
    expect(parseRoute('#/somewhere/else')).toBeNull();
  });
});
