import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { isEventId } from '../../queue/events.js';
import { isJobId } from '../../queue/ids.js';
import type { WebSocket } from 'ws';
import { canSee } from '../auth.js';
import { HttpProblem } from '../problem.js';
import type { Services } from '../services.js';
import { EventsQuery, JobEvent, JobParams } from '../schemas/jobs.js';
import { authenticatedProblems, problemResponses } from '../schemas/problem.js';

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

  // A plain GET (or HEAD) of the route would get @fastify/websocket's empty 404; every error is a problem.
  const upgradeRequired = async (request: FastifyRequest) => {
    if (!request.ws) throw new HttpProblem(426, 'upgrade-required', 'Upgrade Required', 'this route is a WebSocket: connect with "Upgrade: websocket"', {}, { upgrade: 'websocket' });
  };

  const schema = {
    operationId: 'jobEvents',
    summary: "WebSocket stream of a job's events.",
    description:
      'Upgrade to a WebSocket. The server sends every event of the job after `since` (all of them without it), then live events, ' +
      'then one terminal event (`completed`, `failed` or `cancelled`), then closes with 1000 (at once, sending nothing, when `since` ' +
      'is at or past the terminal event). Each message is one JSON `Event`. Close codes: ' +
      `${closeCodes.notFound} unknown job (or another tenant's), ${closeCodes.badRequest} malformed \`since\` (not a stream id \`<ms>-<seq>\` of two 64-bit numbers), ` +
      `${closeCodes.unauthorized} no valid key, ${closeCodes.tooMany} the tenant already holds TENANT_MAX_EVENT_SOCKETS sockets on this API process, ` +
      `${closeCodes.unavailable} event store unavailable (reconnect with \`since\`).`,
    params: JobParams,
    querystring: EventsQuery,
    response: {
      101: { description: 'Switching to the WebSocket protocol; each message is one event.', content: { 'application/json': { schema: JobEvent } } },
      ...problemResponses(404, 426, ...authenticatedProblems),
    },
  };

  app.get('/v1/jobs/:id/events', { websocket: true, preHandler: upgradeRequired, schema }, async (socket, request) => {
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
    // Released once, when the socket closes or the handler ends, whichever is first: a handler left
    // waiting on a reader that was disconnected while still connecting must not keep the slot.
    let held = true;
    const releaseSlot = () => {
      if (held) counts.release(tenant);
      held = false;
    };
    socket.once('close', releaseSlot);
    if (gone()) releaseSlot();
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
      releaseSlot();
    }
  });
};
