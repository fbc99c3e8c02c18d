import type {} from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { FastifyRequest } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { isEventId } from '../queue/events.js';
import type { WebSocket } from 'ws';
import { canSee } from './auth.js';
import { HttpProblem } from './problem.js';
import type { Services } from './services.js';
import { EventsQuery } from './schemas/jobs.js';
import { authenticatedProblems, problemResponses } from './schemas/problem.js';

/** WebSocket close codes beyond the standard ones. */
export const closeCodes = { normal: 1000, badRequest: 4400, unauthorized: 4401, notFound: 4404, tooMany: 4429, unavailable: 4503 } as const;

const authMessageTimeoutMs = 5000;

/** Each event as JSON, written once however many sockets send it (they share the decoded event: see StreamFollower). */
const messages = new WeakMap<object, string>();
function serialized(event: object): string {
  let message = messages.get(event);
  if (message === undefined) messages.set(event, (message = JSON.stringify(event)));
  return message;
}

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

/** One process's open event sockets, jobs' and datasets' together, per API (its Services). */
const socketCounts = new WeakMap<Services, SocketCounts>();

function countsFor(services: Services): SocketCounts {
  let counts = socketCounts.get(services);
  if (!counts) {
    counts = new SocketCounts(services.config.events.socketsPerTenant);
    socketCounts.set(services, counts);
  }
  return counts;
}

// A plain GET (or HEAD) of the route would get @fastify/websocket's empty 404; every error is a problem.
async function upgradeRequired(request: FastifyRequest): Promise<void> {
  if (!request.ws) throw new HttpProblem(426, 'upgrade-required', 'Upgrade Required', 'this route is a WebSocket: connect with "Upgrade: websocket"', {}, { upgrade: 'websocket' });
}

/** What an events route streams: whose thing it is, and its events. */
export interface EventSource {
  /** 'job', 'dataset': in the route's description and its close reasons. */
  what: string;
  url: string;
  operationId: string;
  params: TSchema;
  /** One message (an event with its `id`). */
  event: TSchema;
  /** The terminal events' names, for the description. */
  terminal: string;
  /** The owning tenant, or null when there is no such thing (a malformed id too). */
  owner(id: string): Promise<string | null>;
  /** The events after `since`, then live ones through the process's StreamFollower, until the terminal one or `signal`. */
  follow(id: string, since: string | undefined, signal: AbortSignal): AsyncIterable<{ id: string }>;
}

/**
 * GET <url> (WebSocket): the whole history of a job (or dataset) after `since`, then live events,
 * the terminal one last, then the socket closes. Each message is one JSON event with its `id`.
 * A socket the client closes at any point stops everything it started: it leaves the process's one
 * stream follower (src/queue/stream-follower.ts), which holds no Redis connection per socket.
 */
export function eventSocketRoute(app: FastifyInstance, services: Services, source: EventSource): void {
  const counts = countsFor(services);
  const { what } = source;
  const schema = {
    operationId: source.operationId,
    summary: `WebSocket stream of a ${what}'s events.`,
    description:
      `Upgrade to a WebSocket. The server sends every event of the ${what} after \`since\` (all of them without it), then live events, ` +
      `then one terminal event (${source.terminal}), then closes with 1000 (at once, sending nothing, when \`since\` ` +
      'is at or past the terminal event). Each message is one JSON event. Close codes: ' +
      `${closeCodes.notFound} unknown ${what} (or another tenant's), ${closeCodes.badRequest} malformed \`since\` (not a stream id \`<ms>-<seq>\` of two 64-bit numbers), ` +
      `${closeCodes.unauthorized} no valid key, ${closeCodes.tooMany} the tenant already holds TENANT_MAX_EVENT_SOCKETS sockets on this API process, ` +
      `${closeCodes.unavailable} event store unavailable (reconnect with \`since\`).`,
    params: source.params,
    querystring: EventsQuery,
    response: {
      101: { description: 'Switching to the WebSocket protocol; each message is one event.', content: { 'application/json': { schema: source.event } } },
      ...problemResponses(404, 426, ...authenticatedProblems),
    },
  };

  app.get<{ Params: { id: string }; Querystring: { since?: string } }>(source.url, { websocket: true, preHandler: upgradeRequired, schema }, async (socket, request) => {
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
    try {
      const owner = await source.owner(id);
      if (owner === null || !canSee(principal, owner)) {
        close(closeCodes.notFound, `${what} '${id}' does not exist`);
        return;
      }
      if (gone()) return;
      for await (const event of source.follow(id, since, controller.signal)) {
        if (gone()) break;
        socket.send(serialized(event));
      }
      close(closeCodes.normal, `${what} finished`);
    } catch (err) {
      if (!controller.signal.aborted) {
        request.log.warn({ err: (err as Error).message, [`${what}Id`]: id }, 'event stream failed');
        close(closeCodes.unavailable, 'event stream unavailable; reconnect with since');
      }
    } finally {
      releaseSlot();
    }
  });
}
