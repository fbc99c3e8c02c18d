import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isEventId } from '../../queue/events.js';
import { isJobId } from '../../queue/ids.js';
import type { WebSocket } from 'ws';
import { canSee } from '../auth.js';
import type { Services } from '../services.js';
import { EventsQuery, JobParams } from './schemas.js';

/** WebSocket close codes beyond the standard ones. */
export const closeCodes = { normal: 1000, badRequest: 4400, unauthorized: 4401, notFound: 4404, unavailable: 4503 } as const;

const authMessageTimeoutMs = 5000;

/** The key from a first message `{"type": "auth", "key": "..."}`, or null if none comes in time. */
function keyFromFirstMessage(socket: WebSocket): Promise<string | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), authMessageTimeoutMs);
    socket.once('message', (data) => {
      clearTimeout(timer);
      try {
        const message = JSON.parse(String(data)) as { type?: unknown; key?: unknown };
        resolve(message.type === 'auth' && typeof message.key === 'string' ? message.key : null);
      } catch {
        resolve(null);
      }
    });
    socket.once('close', () => resolve(null));
  });
}

/**
 * GET /v1/jobs/:id/events (WebSocket): the job's whole history after `since`, then live events,
 * the terminal one last, then the socket closes. Each message is one JSON event with its `id`.
 */
export const jobEventRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.get('/v1/jobs/:id/events', { websocket: true, schema: { params: JobParams, querystring: EventsQuery } }, async (socket, request) => {
    const { id } = request.params;
    const { since } = request.query;
    if (since !== undefined && !isEventId(since)) {
      socket.close(closeCodes.badRequest, 'since must be an event id such as 1732700000000-0');
      return;
    }
    let principal = request.principal;
    if (!principal) {
      const key = await keyFromFirstMessage(socket);
      principal = key ? services.apiKeys.identify(key) : null;
      if (!principal) {
        socket.close(closeCodes.unauthorized, 'send the API key: a trainyard.key.<key> subprotocol or a first message {"type":"auth","key":...}');
        return;
      }
    }
    const record = isJobId(id) ? await services.catalogue.get(id) : null;
    if (!record || !canSee(principal, record.tenant)) {
      socket.close(closeCodes.notFound, `job '${id}' does not exist`);
      return;
    }
    const controller = new AbortController();
    const reader = services.newReader();
    socket.on('close', () => {
      controller.abort();
      reader.disconnect();
    });
    try {
      for await (const event of services.events.follow(reader, id, since, controller.signal)) {
        if (socket.readyState !== socket.OPEN) break;
        socket.send(JSON.stringify(event));
      }
      if (socket.readyState === socket.OPEN) socket.close(closeCodes.normal, 'job finished');
    } catch (err) {
      if (!controller.signal.aborted) {
        request.log.warn({ err: (err as Error).message, jobId: id }, 'event stream failed');
        if (socket.readyState === socket.OPEN) socket.close(closeCodes.unavailable, 'event stream unavailable; reconnect with since');
      }
    } finally {
      reader.disconnect();
    }
  });
};
