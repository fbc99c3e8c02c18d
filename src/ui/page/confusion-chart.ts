import type { ModelEvaluation } from './api-types.js';
import { h } from './dom.js';
import * as format from './format.js';

/**
 * MATLAB's confusionchart as a table: counts per (true, predicted) cell, shaded by their share of
 * the row (blue on the diagonal, red off it), recall as the row summary and precision as the
 * column summary. Colours go through the CSSOM: the page's CSP allows no inline style attributes.
 */
export function confusionChart(evaluation: ModelEvaluation, classes: string[]): HTMLTableElement {
  const { confusionMatrix, precision, recall, count } = evaluation;
  const summary = (v: number | null) => (v === null ? '—' : format.percent(v, 1));
  const rows = confusionMatrix.map((row, t) => {
    const total = row.reduce((s, v) => s + v, 0);
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, classes[t]!),
      ...row.map((n, p) => shaded(h('td', { class: n === 0 ? 'zero' : p === t ? 'hit' : 'miss' }, String(n)), total ? n / total : 0, p === t)),
      h('td', { class: 'summary' }, summary(recall[t]!)),
    );
  });
  return h(
    'table',
    { class: 'confusion-chart', 'data-total': String(count) },
    h('caption', {}, `Test split, ${count} images: rows are true classes, columns predicted ones`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'True \\ predicted'), ...classes.map((c) => h('th', { scope: 'col' }, c)), h('th', { scope: 'col' }, 'Recall'))),
    h('tbody', {}, ...rows),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, 'Precision'), ...precision.map((v) => h('td', { class: 'summary' }, summary(v))), h('td', {}))),
  );
}

function shaded(cell: HTMLTableCellElement, share: number, diagonal: boolean): HTMLTableCellElement {
  if (share > 0) {
    cell.style.backgroundColor = diagonal ? `rgb(0 114 189 / ${0.15 + 0.85 * share})` : `rgb(217 83 25 / ${0.15 + 0.85 * share})`;
    if (share > 0.5) cell.style.color = '#fff';
  }
  return cell;
}
