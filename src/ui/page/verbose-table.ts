import type { Progress } from './api-types.js';
import { h } from './dom.js';
import * as format from './format.js';

const columns = ['Epoch', 'Iteration', 'Time elapsed (s)', 'Mini-batch loss', 'Mini-batch accuracy', 'Validation loss', 'Validation accuracy', 'Base learning rate'];

function cells(p: Progress): string[] {
  return [
    String(p.epoch),
    String(p.iteration),
    p.timeElapsed.toFixed(2),
    format.loss(p.miniBatchLoss),
    format.percent(p.miniBatchAccuracy),
    format.loss(p.validationLoss),
    format.percent(p.validationAccuracy),
    format.learnRate(p.baseLearnRate),
  ];
}

/**
 * MATLAB's verbose table under the charts: one row per progress record the server sent, appended
 * as they come (the table never re-renders its old rows), kept scrolled to the newest row unless
 * the reader has scrolled up to look at older ones.
 */
export class VerboseTable {
  readonly element: HTMLElement;
  private readonly body = h('tbody');
  private shown = 0;
  private run = 0;

  constructor() {
    const head = h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { scope: 'col' }, c))));
    this.element = h(
      'div',
      { class: 'verbose-table', tabindex: '0', role: 'region', 'aria-label': 'Training progress table' },
      h('table', {}, h('caption', { class: 'visually-hidden' }, 'Every progress record, the same values as the charts'), head, this.body),
    );
  }

  /** Shows the records of run number `run` (rows already shown stay; a new run replaces them). */
  update(points: readonly Progress[], run: number): void {
    if (run !== this.run) {
      this.body.replaceChildren();
      this.shown = 0;
      this.run = run;
    }
    if (points.length === this.shown) return;
    const atBottom = this.element.scrollTop + this.element.clientHeight >= this.element.scrollHeight - 4;
    const rows = points.slice(this.shown).map((p) => h('tr', {}, ...cells(p).map((c) => h('td', {}, c))));
    this.body.append(...rows);
    this.shown = points.length;
    if (atBottom) this.element.scrollTop = this.element.scrollHeight;
  }
}
