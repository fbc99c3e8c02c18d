import { h } from './dom.js';

export interface PolledTableOptions<T> {
  /** The table's class, and what the list is called in an error ("job list"). */
  className: string;
  what: string;
  columns: readonly string[];
  empty: string;
  /** The items, or null to skip this round (the tab is hidden). */
  load(): Promise<T[] | null>;
  /** Puts the items in `body`. */
  show(items: T[], body: HTMLTableSectionElement): void;
  /** When to load again, after these items (or none, after a failure); null: not until refresh(). */
  nextInMs(items: T[]): number | null;
}

/**
 * A list the page keeps fresh by polling (one request for the whole list, where a socket per item
 * would cost a Redis reader each): a table under a line for errors, and a sentence when it is empty.
 */
export class PolledTable<T> {
  readonly element: HTMLElement;
  readonly body = h('tbody');
  private readonly empty: HTMLElement;
  private readonly error = h('p', { class: 'error', role: 'status' });
  private timer: number | undefined;
  private disposed = false;

  constructor(private readonly options: PolledTableOptions<T>) {
    this.empty = h('p', { class: 'empty', hidden: true }, options.empty);
    const table = h('table', { class: options.className }, h('thead', {}, h('tr', {}, ...options.columns.map((c) => h('th', { scope: 'col' }, c)))), this.body);
    this.element = h('div', { class: 'polled-list' }, this.error, h('div', { class: 'table-scroll' }, table), this.empty);
    void this.refresh();
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
  }

  async refresh(): Promise<void> {
    clearTimeout(this.timer);
    let items: T[] = [];
    try {
      const loaded = await this.options.load();
      if (loaded) {
        items = loaded;
        this.options.show(items, this.body);
        this.empty.hidden = items.length > 0;
      }
      this.error.textContent = '';
    } catch (err) {
      this.error.textContent = `The ${this.options.what} could not be refreshed: ${(err as Error).message}. Trying again.`;
    }
    const next = this.disposed ? null : this.options.nextInMs(items);
    if (next !== null) this.timer = window.setTimeout(() => void this.refresh(), next);
  }
}
