import type { Dataset, DatasetDescription } from './api-types.js';
import { facts, h } from './dom.js';
import * as format from './format.js';

/** "28×28 grey", "64×64 colour". */
export function imageSize({ size: [height, width, channels] }: DatasetDescription): string {
  return `${width}×${height} ${channels === 1 ? 'grey' : 'colour'}`;
}

/** Images in all splits. */
export function imageCount(description: DatasetDescription): number {
  return Object.values(description.splits).reduce((n, s) => n + s.count, 0);
}

/** A ready dataset in one line: "120 images in 3 classes, 28×28 grey". */
export function oneLine(description: DatasetDescription): string {
  const classes = description.classes.length;
  return `${imageCount(description).toLocaleString()} images in ${classes} ${classes === 1 ? 'class' : 'classes'}, ${imageSize(description)}`;
}

const layouts = new Map([
  ['folders', 'a folder per class'],
  ['split-folders', 'train/ and test/ folders, a folder per class in each'],
  ['labels-csv', 'labels.csv'],
  ['idx', 'MNIST IDX files'],
  ['built-in', 'built in'],
]);

/** What a ready dataset holds and how it was made, as a definition list. */
export function descriptionFacts(dataset: Dataset, description: DatasetDescription): HTMLDListElement {
  const split = description.testSplit;
  return facts([
    ['Images', oneLine(description)],
    ['Archive layout', layouts.get(description.layout) ?? description.layout],
    ['Size', `${imageSize(description)} (${description.sizeFrom === 'options' ? 'as asked' : 'the most common'}; others ${description.sizeMode === 'resize' ? 'resized' : 'resized and centre-cropped'})`],
    ['Test split', split.drawn ? `drawn: ${format.percent(split.testFraction, 0)} of each class (seed ${split.seed})` : 'from the archive'],
    ['Stored', format.bytes(description.bytes)],
    ['Uploaded', `${format.bytes(dataset.uploadBytes)} on ${format.dateTime(dataset.createdAt)}`],
  ]);
}

/** Images per class in each split, as numbers and as bars scaled to the largest class of the split. */
export function classCounts(description: DatasetDescription): HTMLElement {
  const splits = Object.entries(description.splits);
  const rows = description.classes.map((name, k) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, name),
      ...splits.map(([, split]) => {
        const n = split.perClass[k] ?? 0;
        const bar = h('span', { class: 'count-bar' });
        bar.style.width = `${(100 * n) / Math.max(1, ...split.perClass)}%`;
        return h('td', {}, h('span', { class: 'count' }, n.toLocaleString()), h('span', { class: 'count-track' }, bar));
      }),
    ),
  );
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'class-counts' },
      h('caption', {}, 'Images per class in each split'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Class'), ...splits.map(([name, split]) => h('th', { scope: 'col' }, `${name} (${split.count.toLocaleString()})`)))),
      h('tbody', {}, ...rows),
    ),
  );
}

/** What ingestion left out, and why: a list, or nothing when it kept everything. */
export function leftOut(description: DatasetDescription): HTMLElement | null {
  const items = [
    ...description.skipped.map((s) => h('li', {}, `${s.count.toLocaleString()} skipped: ${s.reason}`, s.examples.length ? h('span', { class: 'hint' }, ` (${s.examples.join(', ')}${s.count > s.examples.length ? ', …' : ''})`) : null)),
    ...(description.emptyClasses.length ? [h('li', {}, `Class folders with no image: ${description.emptyClasses.join(', ')}`)] : []),
  ];
  return items.length ? h('ul', { class: 'left-out' }, ...items) : null;
}
