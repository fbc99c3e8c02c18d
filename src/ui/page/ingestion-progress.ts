import { api } from './api.js';
import { isIngestionEnd, type DatasetEvent } from './api-types.js';
import { h } from './dom.js';
import { EventStream } from './event-stream.js';

export type IngestionEnd = Extract<DatasetEvent, { type: 'ready' | 'failed' }>;

/**
 * A dataset's ingestion as it happens: a bar of the images converted of those in the archive,
 * from the dataset's event socket (its history first, so a late viewer sees where it stands),
 * until it is ready or failed, which `onEnd` is told.
 */
export class IngestionProgress {
  readonly element: HTMLElement;
  private readonly bar = h('progress', { max: '1', value: '0', id: 'ingestion-bar' });
  private readonly text = h('span', { class: 'progress-text', role: 'status' }, 'Queued: waiting for a worker to read the archive.');
  private readonly stream: EventStream<DatasetEvent>;

  constructor(datasetId: string, onEnd: (event: IngestionEnd) => void) {
    this.element = h('div', { class: 'progress-line ingestion' }, h('label', { for: 'ingestion-bar' }, 'Ingestion'), this.bar, this.text);
    this.stream = new EventStream<DatasetEvent>(
      { what: 'dataset', open: (since) => api.openDatasetEvents(datasetId, since), isLast: isIngestionEnd },
      (event) => {
        switch (event.type) {
          case 'status':
            this.text.textContent = 'Reading the archive…';
            return;
          case 'progress':
            this.bar.max = Math.max(1, event.total);
            this.bar.value = event.read;
            this.text.textContent = `${event.read.toLocaleString()} of ${event.total.toLocaleString()} images converted`;
            return;
          default:
            if (event.type === 'ready') this.bar.value = this.bar.max;
            this.text.textContent = event.type === 'ready' ? 'Done.' : 'Stopped.';
            onEnd(event);
        }
      },
      (connection) => {
        if (connection.state === 'lost') this.text.textContent = `Connection lost; reconnecting in ${Math.round(connection.retryInMs / 1000)} s…`;
        if (connection.state === 'refused') this.text.textContent = `No live progress: ${connection.reason}.`;
      },
    );
  }

  close(): void {
    this.stream.close();
  }
}
