import type { ProgressRecord } from './train.js';

/**
 * MATLAB's verbose training table: a header, a row at iteration 1, every `frequency` iterations and
 * at the last one. Accuracies are shown in percent, as MATLAB does.
 */
const baseColumns = ['Epoch', 'Iteration', 'Time Elapsed', 'Mini-batch Loss', 'Mini-batch Accuracy', 'Base Learning Rate'];
const validationColumns = ['Validation Loss', 'Validation Accuracy'];
const width = 13;

export function verboseHeader(withValidation: boolean): string {
  const names = withValidation ? [...baseColumns.slice(0, 5), ...validationColumns, baseColumns[5]!] : baseColumns;
  const [top, bottom] = [names.map((n) => splitName(n)[0]), names.map((n) => splitName(n)[1])];
  const rule = `|${'='.repeat((width + 3) * names.length - 1)}|`;
  const line = (cells: string[]) => `| ${cells.map((c) => center(c, width)).join(' | ')} |`;
  return [rule, line(top), line(bottom), rule].join('\n');
}

export function verboseRow(r: ProgressRecord, withValidation: boolean): string {
  const percent = (v: number | undefined) => (v === undefined ? '' : `${(100 * v).toFixed(2)}%`);
  const fixed = (v: number | undefined) => (v === undefined ? '' : v.toFixed(4));
  const cells = [String(r.epoch), String(r.iteration), r.timeElapsed.toFixed(2), fixed(r.miniBatchLoss), percent(r.miniBatchAccuracy)];
  if (withValidation) cells.push(fixed(r.validationLoss), percent(r.validationAccuracy));
  cells.push(r.baseLearnRate.toPrecision(4));
  return `| ${cells.map((c) => c.padStart(width)).join(' | ')} |`;
}

export function verboseFooter(withValidation: boolean): string {
  return `|${'='.repeat((width + 3) * (baseColumns.length + (withValidation ? 2 : 0)) - 1)}|`;
}

export function isVerboseIteration(iteration: number, frequency: number, lastIteration: number): boolean {
  return iteration === 1 || iteration % frequency === 0 || iteration === lastIteration;
}

function splitName(name: string): [string, string] {
  const space = name.lastIndexOf(' ');
  if (name === 'Time Elapsed') return [name, '(seconds)'];
  return space < 0 ? [name, ''] : [name.slice(0, space), name.slice(space + 1)];
}

function center(text: string, n: number): string {
  const left = Math.floor((n - text.length) / 2);
  return ' '.repeat(Math.max(0, left)) + text + ' '.repeat(Math.max(0, n - text.length - left));
}
