import { isAfter } from './event-ids.js';

export type Connection =
  | { state: 'connecting' }
  | { state: 'live' }
  /** The socket dropped before the stream ended; the next try is in `retryInMs`. */
  | { state: 'lost'; retryInMs: number; attempt: number }
  /** The last event arrived; nothing more will come. */
  | { state: 'ended' }
  | { state: 'refused'; reason: string };

/** Why the server refused a stream (close codes after which trying again cannot help; openapi.yaml: unknown id, malformed since). */
function refusal(code: number, what: string): string | undefined {
  if (code === 4404) return `this ${what} does not exist`;
  if (code === 4400) return 'the server refused the request for events';
  return undefined;
}
const retryDelaysMs = [1000, 2000, 4000, 8000, 15000];

/** What an event stream needs to know of its resource: what it is called, how to open its socket, and which event is its last. */
export interface StreamOf<E> {
  what: string;
  open(since: string | undefined): WebSocket;
  isLast(event: E): boolean;
}

/**
 * Follows a job's or a dataset's events: the server replays its history, then live events, then
 * the last one. When the socket drops first, it connects again with `since` set to the last event
 * delivered, so the history continues where it stopped; an event at or before that id (which a
 * server should not send again, but a proxy might) is dropped rather than drawn twice.
 */
export class EventStream<E extends { id: string }> {
  private socket: WebSocket | null = null;
  private lastId: string | undefined;
  private attempt = 0;
  private retryTimer: number | undefined;
  private stopped = false;

  constructor(
    private readonly of: StreamOf<E>,
    private readonly onEvent: (event: E) => void,
    private readonly onConnection: (connection: Connection) => void = () => {},
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
    const socket = this.of.open(this.lastId);
    this.socket = socket;
    let ended = false;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.onConnection({ state: 'live' });
    });
    socket.addEventListener('message', (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as E;
      if (this.stopped || !isAfter(event.id, this.lastId)) return;
      this.lastId = event.id;
      if (this.of.isLast(event)) ended = true;
      this.onEvent(event);
    });
    socket.addEventListener('close', (close) => {
      if (this.stopped) return;
      if (ended) return this.onConnection({ state: 'ended' });
      const reason = refusal(close.code, this.of.what);
      if (reason) return this.onConnection({ state: 'refused', reason });
      const retryInMs = retryDelaysMs[Math.min(this.attempt, retryDelaysMs.length - 1)]!;
      this.attempt++;
      this.onConnection({ state: 'lost', retryInMs, attempt: this.attempt });
      this.retryTimer = window.setTimeout(() => this.connect(), retryInMs);
    });
  }
}
