import { api, ApiError } from '../api.js';
import type { Job } from '../api-types.js';
import { h } from '../dom.js';
import * as format from '../format.js';
import { PolledTable } from '../polled-table.js';
import { href } from '../router.js';

const activeStatuses = new Set(['queued', 'running']);
/** Statuses a job can be cancelled in. */
const cancellableStatuses = new Set(['queued', 'running', 'paused']);
const columns = ['Name', 'Status', 'Progress', 'Backend', 'Started', 'Duration', 'Result', ''];

export function jobName(job: Job): string {
  return job.name ?? `job ${job.id.slice(-6)}`;
}

function progressText(job: Job): string {
  const p = job.progress;
  if (job.status === 'queued') return 'waiting for a worker';
  if (!p) return job.status === 'running' ? 'starting' : '';
  const done = Math.floor((100 * p.iteration) / p.totalIterations);
  return `${done}% · epoch ${p.epoch}, iteration ${p.iteration} of ${p.totalIterations} · ${format.percent(p.miniBatchAccuracy, 1)}`;
}

function durationText(job: Job): string {
  return job.startedAt ? format.duration(format.secondsBetween(job.startedAt, job.finishedAt)) : '';
}

/**
 * The job list, newest first, refreshed every second or two (polling: one request for the whole
 * list, where a socket per job would cost a Redis reader each). Rows are updated in place, so a
 * keyboard user's focus on a Cancel button survives a refresh; status changes are announced.
 */
export class JobList {
  private readonly table: PolledTable<Job>;
  private readonly rows = new Map<string, { row: HTMLTableRowElement; job: Job }>();

  constructor(private readonly announce: (text: string) => void) {
    this.table = new PolledTable<Job>({
      className: 'jobs',
      what: 'job list',
      columns,
      empty: 'No jobs yet: submit one below.',
      load: async () => (document.hidden ? null : (await api.listJobs()).jobs),
      show: (jobs) => this.show(jobs),
      nextInMs: (jobs) => (jobs.some((j) => activeStatuses.has(j.status)) ? 1000 : 3000),
    });
  }

  get element(): HTMLElement {
    return this.table.element;
  }

  dispose(): void {
    this.table.dispose();
  }

  refresh(): Promise<void> {
    return this.table.refresh();
  }

  private show(jobs: Job[]): void {
    const firstLoad = this.rows.size === 0;
    const seen = new Set<string>();
    jobs.forEach((job, index) => {
      seen.add(job.id);
      const known = this.rows.get(job.id);
      if (known && known.job.status !== job.status && !firstLoad) this.announce(`${jobName(job)} is now ${job.status}.`);
      const row = known?.row ?? h('tr', { 'data-job': job.id });
      this.fill(row, job);
      this.rows.set(job.id, { row, job });
      const body = this.table.body;
      if (body.children[index] !== row) body.insertBefore(row, body.children[index] ?? null);
    });
    for (const [id, { row }] of this.rows) {
      if (!seen.has(id)) {
        row.remove();
        this.rows.delete(id);
      }
    }
  }

  /** Fills a row's cells, keeping the Cancel button (and the focus on it) when there is one. */
  private fill(row: HTMLTableRowElement, job: Job): void {
    const cells = [
      h('a', { href: href({ view: 'job', id: job.id }) }, jobName(job)),
      h('span', { class: `status status-${job.status}` }, statusLabel(job)),
      progressText(job),
      job.backend ?? '',
      format.dateTime(job.startedAt),
      durationText(job),
      resultOf(job),
    ];
    while (row.cells.length < columns.length) row.append(h('td'));
    cells.forEach((content, i) => row.cells[i]!.replaceChildren(content));
    const actions = row.cells[columns.length - 1]!;
    const cancellable = cancellableStatuses.has(job.status) && !job.cancelRequested;
    if (!cancellable) actions.replaceChildren();
    else if (!actions.querySelector('button')) actions.replaceChildren(this.cancelButton(job));
  }

  private cancelButton(job: Job): HTMLButtonElement {
    const button = h('button', { type: 'button', class: 'secondary', 'aria-label': `Cancel ${jobName(job)}` }, 'Cancel');
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await api.cancelJob(job.id);
        this.announce(`Cancelling ${jobName(job)}.`);
      } catch (err) {
        this.announce(`${jobName(job)} could not be cancelled: ${err instanceof ApiError ? err.problem.detail : (err as Error).message}`);
        button.disabled = false;
      }
      await this.refresh();
    });
    return button;
  }
}

/** The status, or what a running job is being asked to do. */
export function statusLabel(job: Job): string {
  if (job.status !== 'running') return job.status;
  return job.cancelRequested ? 'cancelling' : job.pauseRequested ? 'pausing' : 'running';
}

function resultOf(job: Job): Node | string {
  switch (job.status) {
    case 'completed':
      return job.modelId ? h('a', { href: href({ view: 'model', id: job.modelId }) }, job.metrics?.testAccuracy === undefined ? 'model' : `model · test ${format.percent(job.metrics.testAccuracy, 1)}`) : 'done';
    case 'failed':
      return job.error?.title ?? 'failed';
    default:
      return '';
  }
}
