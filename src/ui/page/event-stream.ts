import { api } from './api.js';
import { isTerminal, type JobEvent } from './api-types.js';
import { isAfter } from './event-ids.js';

export type Connection =
  | { state: 'connecting' }
  | { state: 'live' }
  /** The socket dropped before the job ended; the next try is in `retryInMs`. */
  | { state: 'lost'; retryInMs: number; attempt: number }
  /** The terminal event arrived; nothing more will come. */
  | { state: 'ended' }
  | { state: 'refused'; reason: string };

/** Close codes after which trying again cannot help (openapi.yaml: unknown job, malformed since). */
const refusals: Record<number, string> = { 4404: 'this job does not exist', 4400: 'the server refused the request for events' };
const retryDelaysMs = [1000, 2000, 4000, 8000, 15000];

/**
 * Follows a job's events: the server replays its history, then live events, then the terminal
 * one. When the socket drops first, it connects again with `since` set to the last event
 * delivered, so the history continues where it stopped; an event at or before that id (which a
 * server should not send again, but a proxy might) is dropped rather than drawn twice.
 */
export class JobEventStream {
  private socket: WebSocket | null = null;
  private lastId: string | undefined;
  private attempt = 0;
  private retryTimer: number | undefined;
  private stopped = false;

  constructor(
    private readonly jobId: string,
    private readonly onEvent: (event: JobEvent) => void,
    private readonly onConnection: (connection: Connection) => void,
  ) {
    this.connect();
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.socket?.close(1000, 'page closed');
  }

  private connect(): void {
    this.onConnection({ state: 'connecting' });
    const socket = api.openJobEvents(this.jobId, this.lastId);
    this.socket = socket;
    let ended = false;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.onConnection({ state: 'live' });
    });
    socket.addEventListener('message', (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as JobEvent;
      if (this.stopped || !isAfter(event.id, this.lastId)) return;
      this.lastId = event.id;
      if (isTerminal(event)) ended = true;
      this.onEvent(event);
    });
    socket.addEventListener('close', (close) => {
      if (this.stopped) return;
      if (ended) return this.onConnection({ state: 'ended' });
      const refusal = refusals[close.code];
      if (refusal) return this.onConnection({ state: 'refused', reason: refusal });
      const retryInMs = retryDelaysMs[Math.min(this.attempt, retryDelaysMs.length - 1)]!;
      this.attempt++;
      this.onConnection({ state: 'lost', retryInMs, attempt: this.attempt });
      this.retryTimer = window.setTimeout(() => this.connect(), retryInMs);
    });
  }
}
