import type { Prediction } from './api-types.js';
import { h } from './dom.js';
import * as format from './format.js';

/**
 * The predicted label, large, and every class's probability as a bar with its value in words.
 * The label sits in a polite live region that changes only when the label does, so a screen reader
 * hears "7" once rather than a number on every pointer move.
 */
export class ProbabilityBars {
  readonly element: HTMLElement;
  private readonly label = h('output', { class: 'predicted', 'aria-live': 'polite', id: 'predicted-label' });
  private readonly note = h('p', { class: 'prediction-note' });
  private readonly rows = new Map<string, { row: HTMLElement; bar: HTMLElement; value: HTMLElement }>();

  constructor(classes: readonly string[], private readonly prompt: string) {
    const list = h('ol', { class: 'bars', 'aria-label': 'Probability of each class' });
    for (const name of classes) {
      const bar = h('span', { class: 'bar' });
      const value = h('span', { class: 'bar-value' });
      const row = h('li', { 'data-class': name }, h('span', { class: 'bar-label' }, name), h('span', { class: 'bar-track' }, bar), value);
      this.rows.set(name, { row, bar, value });
      list.append(row);
    }
    this.element = h('div', { class: 'prediction' }, h('p', { class: 'predicted-line' }, 'Predicted: ', this.label), this.note, list);
    this.reset(prompt);
  }

  show(prediction: Prediction): void {
    if (this.label.textContent !== prediction.label) this.label.textContent = prediction.label;
    this.note.textContent = '';
    for (const [name, { row, bar, value }] of this.rows) {
      const p = prediction.probabilities[name] ?? 0;
      bar.style.width = `${(100 * p).toFixed(1)}%`;
      value.textContent = format.percent(p, 1);
      row.classList.toggle('top', name === prediction.label);
    }
  }

  /** No prediction: nothing to predict yet (the prompt), or a failed request (`message` says why). */
  reset(message = this.prompt): void {
    this.label.textContent = '–';
    this.note.textContent = message;
    for (const { row, bar, value } of this.rows.values()) {
      bar.style.width = '0';
      value.textContent = '';
      row.classList.remove('top');
    }
  }
}
