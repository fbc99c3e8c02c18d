import WebSocket from 'ws';
import { isTerminalEvent, type StoredEvent } from '../queue/jobs.js';

/** Close codes after which reconnecting cannot help (src/api/jobs/events.ts sends them). */
const finalCloseCodes = new Map([
  [4400, 'bad request'],
  [4401, 'the API key was refused'],
  [4404, 'no such job'],
]);

export class FollowError extends Error {
  override name = 'FollowError';
}

export interface FollowOptions {
  /** The API's base URL, http(s)://host:port. */
  base: string;
  jobId: string;
  /** Sent as `Authorization: Bearer <key>` on the upgrade request. */
  key?: string | undefined;
  /** Connection attempts in a row that may fail before giving up. */
  retries?: number;
  /** First wait before reconnecting; doubled after each failure, at most 5 s. */
  retryDelayMs?: number;
}

/**
 * Follows a job's event WebSocket until its terminal event, calling `onEvent` once per event in
 * order. A connection that drops (an API restart, a network blip) is opened again with `since` set
 * to the last event seen, so nothing is missed or shown twice. Resolves with the terminal event.
 */
export async function followJob(options: FollowOptions, onEvent: (event: StoredEvent) => void): Promise<StoredEvent> {
  const { retries = 10, retryDelayMs = 250 } = options;
  let since: string | undefined;
  let terminal: StoredEvent | null = null;
  let failures = 0;
  for (;;) {
    const closed = await connectOnce(eventsUrl(options.base, options.jobId, since), options.key, (event) => {
      since = event.id;
      failures = 0;
      onEvent(event);
      if (isTerminalEvent(event)) terminal = event;
    });
    if (terminal) return terminal;
    const final = finalCloseCodes.get(closed.code);
    if (final) throw new FollowError(`${final}: ${closed.reason}`);
    if (++failures > retries) throw new FollowError(`lost the connection to ${options.base} (${closed.reason || `close code ${closed.code}`}) ${failures} times in a row`);
    await new Promise((r) => setTimeout(r, Math.min(5000, retryDelayMs * 2 ** (failures - 1))));
  }
}

export function eventsUrl(base: string, jobId: string, since: string | undefined): string {
  const url = new URL(`v1/jobs/${encodeURIComponent(jobId)}/events`, base.endsWith('/') ? base : `${base}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (since !== undefined) url.searchParams.set('since', since);
  return url.href;
}

/** One connection: resolves when it closes, with the code and reason (or the connection error). */
function connectOnce(url: string, key: string | undefined, onEvent: (event: StoredEvent) => void): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, key ? { headers: { authorization: `Bearer ${key}` } } : {});
    let error = '';
    socket.on('error', (err) => (error = err.message));
    socket.on('message', (data) => onEvent(JSON.parse(String(data)) as StoredEvent));
    socket.on('close', (code, reason) => resolve({ code, reason: String(reason) || error }));
  });
}
