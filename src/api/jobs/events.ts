import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isEventId } from '../../queue/events.js';
import { isJobId } from '../../queue/ids.js';
import type { WebSocket } from 'ws';
import { canSee } from '../auth.js';
import type { Services } from '../services.js';
import { EventsQuery, JobParams } from './schemas.js';

/** WebSocket close codes beyond the standard ones. */
export const closeCodes = { normal: 1000, badRequest: 4400, unauthorized: 4401, notFound: 4404, tooMany: 4429, unavailable: 4503 } as const;

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

/** Open event sockets per tenant in this process, held to a cap (TENANT_MAX_EVENT_SOCKETS). */
class SocketCounts {
  private readonly open = new Map<string, number>();

  constructor(private readonly cap: number) {}

  /** Counts one more socket for `tenant`, or answers false when it already holds `cap`. */
  take(tenant: string): boolean {
    const held = this.open.get(tenant) ?? 0;
    if (held >= this.cap) return false;
    this.open.set(tenant, held + 1);
    return true;
  }

  release(tenant: string): void {
    const held = (this.open.get(tenant) ?? 1) - 1;
    if (held > 0) this.open.set(tenant, held);
    else this.open.delete(tenant);
  }
}

/**
 * GET /v1/jobs/:id/events (WebSocket): the job's whole history after `since`, then live events,
 * the terminal one last, then the socket closes. Each message is one JSON event with its `id`.
 * A socket the client closes at any point stops everything it started: no Redis reader outlives it.
 */
export const jobEventRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const counts = new SocketCounts(services.config.events.socketsPerTenant);

  app.get('/v1/jobs/:id/events', { websocket: true, schema: { params: JobParams, querystring: EventsQuery } }, async (socket, request) => {
    const { id } = request.params;
    const { since } = request.query;
    // Registered before the first await: a socket that drops while we look things up is noticed.
    const controller = new AbortController();
    socket.once('close', () => controller.abort());
    // A socket that closed before this handler ran never emits 'close' again: check its state too.
    const gone = () => {
      if (socket.readyState !== socket.OPEN) controller.abort();
      return controller.signal.aborted;
    };
    const close = (code: number, reason: string) => {
      if (socket.readyState === socket.OPEN) socket.close(code, reason);
    };
    if (since !== undefined && !isEventId(since)) {
      close(closeCodes.badRequest, 'since must be an event id such as 1732700000000-0');
      return;
    }
    let principal = request.principal;
    if (!principal) {
      const key = await keyFromFirstMessage(socket);
      principal = key ? services.apiKeys.identify(key) : null;
      if (!principal) {
        close(closeCodes.unauthorized, 'send the API key: a trainyard.key.<key> subprotocol or a first message {"type":"auth","key":...}');
        return;
      }
    }
    const tenant = principal.tenant;
    if (!counts.take(tenant)) {
      close(closeCodes.tooMany, `tenant '${tenant}' already has ${services.config.events.socketsPerTenant} event sockets open (TENANT_MAX_EVENT_SOCKETS); close one first`);
      return;
    }
    let reader: ReturnType<Services['newReader']> | null = null;
    try {
      const record = isJobId(id) ? await services.catalogue.get(id) : null;
      if (!record || !canSee(principal, record.tenant)) {
        close(closeCodes.notFound, `job '${id}' does not exist`);
        return;
      }
      if (gone()) return;
      reader = services.newReader();
      const blocking = reader;
      controller.signal.addEventListener('abort', () => blocking.disconnect(), { once: true });
      for await (const event of services.events.follow(reader, id, since, controller.signal)) {
        if (gone()) break;
        socket.send(JSON.stringify(event));
      }
      close(closeCodes.normal, 'job finished');
    } catch (err) {
      if (!controller.signal.aborted) {
        request.log.warn({ err: (err as Error).message, jobId: id }, 'event stream failed');
        close(closeCodes.unavailable, 'event stream unavailable; reconnect with since');
      }
    } finally {
      reader?.disconnect();
      counts.release(tenant);
    }
  });
};
