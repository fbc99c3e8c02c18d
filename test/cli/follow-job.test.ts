import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { followJob, FollowError } from '../../src/cli/follow-job.js';
import type { StoredEvent } from '../../src/queue/jobs.js';

/** A fake events endpoint: each connection gets what `script` decides from the requested URL. */
let server: WebSocketServer | null = null;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function fakeEvents(script: (url: URL, socket: import('ws').WebSocket, connection: number) => void): Promise<{ base: string; urls: URL[] }> {
  const urls: URL[] = [];
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((r) => server!.once('listening', r));
  server.on('connection', (socket, request) => {
    const url = new URL(request.url!, 'http://x');
    urls.push(url);
    script(url, socket, urls.length);
  });
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, urls };
}

const progress = (id: string, iteration: number): StoredEvent => ({
  id, type: 'progress', epoch: 1, iteration, timeElapsed: iteration, miniBatchLoss: 1, miniBatchAccuracy: 0.5, baseLearnRate: 0.01, totalIterations: 3, verbose: true,
});

describe('followJob', () => {
  it('reconnects with since after a dropped connection: every event once, in order', async () => {
    const events = [{ id: '1-0', type: 'status', status: 'running' } as StoredEvent, progress('2-0', 1), progress('3-0', 2), { id: '4-0', type: 'cancelled' } as StoredEvent];
    const { base, urls } = await fakeEvents((url, socket, connection) => {
      const since = url.searchParams.get('since');
      const rest = since ? events.slice(events.findIndex((e) => e.id === since) + 1) : events;
      if (connection === 1) {
        for (const e of rest.slice(0, 2)) socket.send(JSON.stringify(e));
        setTimeout(() => socket.terminate(), 50); // the connection drops, no close frame
      } else {
        for (const e of rest) socket.send(JSON.stringify(e));
        socket.close(1000, 'job finished');
      }
    });
    const seen: string[] = [];
    const terminal = await followJob({ base, jobId: 'job1', retryDelayMs: 10 }, (e) => seen.push(e.id));
    expect(terminal).toEqual(events[3]);
    expect(seen).toEqual(['1-0', '2-0', '3-0', '4-0']);
    expect(urls.map((u) => `${u.pathname}?${u.searchParams}`)).toEqual(['/v1/jobs/job1/events?', '/v1/jobs/job1/events?since=2-0']);
  });

  it('gives up at once on an unknown job, and after the retries when nothing answers', async () => {
    const { base } = await fakeEvents((_url, socket) => socket.close(4404, "job 'x' does not exist"));
    await expect(followJob({ base, jobId: 'x' }, () => {})).rejects.toThrow(/no such job: job 'x' does not exist/);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = null;
    await expect(followJob({ base, jobId: 'x', retries: 2, retryDelayMs: 1 }, () => {})).rejects.toBeInstanceOf(FollowError);
  });
});
