import { api, ApiError } from '../api.js';
import { isTerminal, type Job, type JobEvent, type TerminalEvent } from '../api-types.js';
import { facts, h } from '../dom.js';
import { EventStream, type Connection } from '../event-stream.js';
import * as format from '../format.js';
import { networkGraph } from '../network-graph.js';
import { resumeSentence } from '../../../queue/resume-sentence.js';
import { initialModelPhrase } from '../initial-model.js';
import { href } from '../router.js';
import { TrainingChart } from '../training-chart.js';
import { TrainingHistory } from '../training-history.js';
import { VerboseTable } from '../verbose-table.js';
import { setTitle, type View } from '../view.js';
import { jobName, statusLabel } from './job-list.js';

const accuracy = (v: number | null | undefined) => (v === undefined || v === null ? v : 100 * v);

/**
 * One job, as MATLAB's training-progress window shows a run: accuracy and loss against iteration
 * with epochs shaded, the figures of the latest record, the verbose table, and how the run ended.
 * Everything is drawn from the job's event stream, so opening or reloading the page mid-run
 * replays the history and then follows it live; a dropped connection resumes where it stopped.
 */
export function jobView(id: string): View {
  setTitle('Job');
  const history = new TrainingHistory();
  const heading = h('h1', { tabindex: '-1' }, 'Job');
  const about = h('div', { class: 'about' });
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel job');
  const pause = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Pause');
  const resume = h('button', { type: 'button', hidden: true }, 'Resume');
  const statusLine = h('p', { class: 'job-status', role: 'status' });
  const banner = new ConnectionBanner();
  const figures = h('dl', { class: 'facts figures' });
  const ending = h('div', { class: 'ending' });
  const restartNote = h('p', { class: 'note', hidden: true }, 'The job was started again after its worker stopped; the charts show the latest run.');
  const fallbackNotes = h('div', { class: 'checkpoint-fallbacks' });
  const charts = [
    new TrainingChart(
      {
        title: 'Accuracy',
        yLabel: 'Accuracy (%)',
        colour: '#0072bd',
        miniBatch: { label: 'Mini-batch accuracy', value: (p) => (p.miniBatchAccuracy === null ? NaN : 100 * p.miniBatchAccuracy) },
        validation: { label: 'Validation accuracy', value: (p) => accuracy(p.validationAccuracy) },
        yRange: [0, 100],
      },
      history,
    ),
    new TrainingChart(
      {
        title: 'Loss',
        yLabel: 'Loss',
        colour: '#d95319',
        miniBatch: { label: 'Mini-batch loss', value: (p) => p.miniBatchLoss ?? NaN },
        validation: { label: 'Validation loss', value: (p) => p.validationLoss },
      },
      history,
    ),
  ];
  const table = new VerboseTable();
  const network = h('section', { class: 'network', 'aria-labelledby': 'network-heading' }, h('h2', { id: 'network-heading' }, 'Network'));
  const element = h(
    'div',
    { class: 'job-view' },
    h('p', { class: 'breadcrumb' }, h('a', { href: href({ view: 'jobs' }) }, '← All jobs')),
    h('div', { class: 'title-row' }, heading, h('div', { class: 'job-actions' }, pause, resume, cancel)),
    about,
    statusLine,
    banner.element,
    ending,
    restartNote,
    fallbackNotes,
    figures,
    h('div', { class: 'charts' }, ...charts.map((c) => c.figure)),
    h('h2', {}, 'Training progress'),
    table.element,
    network,
  );

  const showJob = (record: Job) => {
    heading.textContent = `Job: ${jobName(record)}`;
    setTitle(`Job ${jobName(record)}`);
    about.replaceChildren(
      facts([
        ['Id', record.id],
        ['Created', format.dateTime(record.createdAt)],
        ['Backend', record.backend ?? ''],
        ['Worker', record.workerId ?? ''],
        ['Attempts', record.attempts > 1 ? String(record.attempts) : ''],
      ]),
      ...(record.initialModel ? [h('p', { class: 'initial-model' }, 'Starts from ', ...initialModelPhrase(record.initialModel, record.initialModel.layersFromModel, record.initialModel.layersNotFromModel), '.')] : []),
    );
    const asked = record.cancelRequested || record.pauseRequested;
    cancel.hidden = !(record.status === 'queued' || record.status === 'running' || record.status === 'paused') || record.cancelRequested;
    pause.hidden = !(record.status === 'queued' || record.status === 'running') || asked;
    resume.hidden = record.status !== 'paused';
    // Only while the events still say running: a pause or cancel they already reported has landed.
    if (record.status === 'running' && asked && history.status === 'running') statusLine.textContent = `${statusLabel(record) === 'pausing' ? 'Pausing: the job checkpoints and leaves its worker' : 'Cancelling: the job stops'} within one iteration.`;
  };
  /**
   * Shows the job as the newest request asked answers it. Answers can come back out of order: a
   * Pause answered slowly (running, pauseRequested) after the GET its paused event started would
   * otherwise hide Resume on a paused job.
   */
  let issued = 0;
  let shown = 0;
  const showLatest = async (request: Promise<Job>) => {
    const ticket = ++issued;
    const record = await request;
    if (ticket < shown) return;
    shown = ticket;
    showJob(record);
  };
  const refreshJob = () =>
    showLatest(api.job(id)).catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 404) statusLine.textContent = `There is no job ${id}.`;
    });

  /** A button that asks the API for something and shows the job it answers with; the events say the rest. */
  const action = (button: HTMLButtonElement, request: (id: string) => Promise<Job>, failed: string) =>
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        await showLatest(request(id));
      } catch (err) {
        statusLine.textContent = `The job could not be ${failed}: ${(err as Error).message}`;
      }
      button.disabled = false;
    });
  action(cancel, api.cancelJob, 'cancelled');
  action(pause, api.pauseJob, 'paused');
  action(resume, api.resumeJob, 'resumed');

  // Events change the history at once; the page is redrawn at most once a frame.
  let frame = 0;
  const render = () => {
    frame = 0;
    for (const chart of charts) chart.update();
    table.update(history.points, history.restarts);
    figures.replaceChildren(...figureItems(history));
    restartNote.hidden = history.restarts === 0;
    // Said once the run goes on: which checkpoints could not be read, and where it went on from instead.
    fallbackNotes.replaceChildren(...history.checkpointFallbacks.map((event) => h('p', { class: 'note checkpoint-fallback' }, resumeSentence(event))));
  };
  const onEvent = (event: JobEvent) => {
    history.apply(event);
    if (event.type !== 'progress') {
      statusLine.textContent = statusText(history.status);
      void refreshJob();
    }
    if (isTerminal(event)) ending.replaceChildren(endingOf(event));
    frame ||= requestAnimationFrame(render);
  };
  const stream = new EventStream<JobEvent>({ what: 'job', open: (since) => api.openJobEvents(id, since), isLast: isTerminal }, onEvent, (c) => banner.show(c));
  void refreshJob();
  api.jobNetwork(id).then(
    (submitted) => network.append(networkGraph(submitted)),
    () => network.remove(),
  );

  return {
    element,
    dispose() {
      stream.close();
      banner.dispose();
      cancelAnimationFrame(frame);
      for (const chart of charts) chart.dispose();
    },
  };
}

function statusText(status: TrainingHistory['status']): string {
  switch (status) {
    case 'queued':
      return 'Queued: waiting for a worker.';
    case 'running':
      return 'Running.';
    case 'paused':
      return 'Paused: it keeps its checkpoint and goes on from there when resumed.';
    case 'completed':
      return 'Completed.';
    case 'failed':
      return 'Failed.';
    case 'cancelled':
      return 'Cancelled.';
    default:
      return '';
  }
}

/** The latest record's figures, as the side panel of MATLAB's window gives them. */
function figureItems(history: TrainingHistory): HTMLElement[] {
  const last = history.last;
  if (!last) return [];
  const rate = history.iterationsPerSecond();
  const left = history.secondsLeft();
  const pairs: [string, string][] = [
    ['Epoch', String(last.epoch)],
    ['Iteration', `${last.iteration} of ${last.totalIterations}`],
    ['Elapsed', format.duration(last.timeElapsed)],
    ['Iterations per second', rate === null ? '' : rate.toFixed(2)],
    ['Time left', left === null ? '' : `about ${format.duration(left)}`],
    ['Mini-batch accuracy', format.percent(last.miniBatchAccuracy)],
    ['Mini-batch loss', format.loss(last.miniBatchLoss)],
    ['Learning rate', format.learnRate(last.baseLearnRate)],
  ];
  return pairs.filter(([, v]) => v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]);
}

function endingOf(event: TerminalEvent): HTMLElement {
  switch (event.type) {
    case 'completed': {
      const m = event.metrics;
      return h(
        'div',
        { class: 'ending-completed' },
        h('p', {}, 'The model is saved. ', h('a', { href: href({ view: 'model', id: event.modelId }) }, 'Open the model and try it')),
        facts([
          ['Test accuracy', format.percent(m.testAccuracy)],
          ['Test loss', format.loss(m.testLoss)],
          ['Validation accuracy', format.percent(m.validationAccuracy)],
        ]),
      );
    }
    case 'failed':
      return h(
        'div',
        { class: 'ending-failed', role: 'alert' },
        h('p', {}, h('strong', {}, event.error.title), `: ${event.error.detail}`),
        event.error.problems?.length ? h('ul', {}, ...event.error.problems.map((p) => h('li', {}, p.message))) : null,
      );
    case 'cancelled':
      return h('p', { class: 'ending-cancelled' }, 'The job was cancelled; no model was kept.');
  }
}

/** Says when the live connection is lost and when it is back (for a few seconds); says nothing while all is well. */
class ConnectionBanner {
  readonly element = h('p', { class: 'connection', role: 'status', hidden: true });
  private hideTimer: number | undefined;

  show(c: Connection): void {
    switch (c.state) {
      case 'lost':
        return this.say('lost', `Connection to the server lost. Reconnecting in ${Math.round(c.retryInMs / 1000)} s (attempt ${c.attempt}); the charts will continue where they stopped.`);
      case 'refused':
        return this.say('lost', `No live progress: ${c.reason}.`);
      case 'live':
        if (this.element.hidden) return;
        this.say('restored', 'Reconnected: following the job live again.');
        this.hideTimer = window.setTimeout(() => (this.element.hidden = true), 5000);
        return;
      case 'connecting':
      case 'ended':
        return;
    }
  }

  dispose(): void {
    clearTimeout(this.hideTimer);
  }

  private say(kind: 'lost' | 'restored', text: string): void {
    clearTimeout(this.hideTimer);
    this.element.hidden = false;
    this.element.className = `connection ${kind}`;
    this.element.textContent = text;
  }
}
