import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpProblem } from './problem.js';
import { localPrincipal, type KeyRing, type Principal } from './keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for every request to a non-public route that passed authentication (null on a WebSocket awaiting its key message). */
    principal: Principal | null;
    /** Why authentication failed; answered after the rate limiter has counted the attempt. */
    authProblem: HttpProblem | null;
  }
  interface FastifyContextConfig {
    /** The route needs no key and is not rate limited (health probes, the page, the API description). */
    public?: boolean;
    /** The route is for admin keys only (operations: /metrics, Bull Board); other keys get 403. */
    admin?: boolean;
  }
}

/** The WebSocket subprotocol the API speaks, and the prefix of one that carries a key (browsers cannot set headers). */
export const wsProtocol = 'trainyard.v1';
export const wsKeyProtocolPrefix = 'trainyard.key.';

export function bearerKey(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <key>"');
    return match[1]!;
  }
  const protocols = String(request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const carried = protocols.find((p) => p.startsWith(wsKeyProtocolPrefix));
  return carried ? carried.slice(wsKeyProtocolPrefix.length) : null;
}

export function unauthorized(detail: string): HttpProblem {
  return new HttpProblem(401, 'unauthorized', 'Unauthorized', detail, {}, { 'www-authenticate': 'Bearer realm="trainyard"' });
}

/**
 * Whether the route Fastify matched was declared public. Decided on the matched route, never on
 * the raw URL: `/%761/jobs` is routed to `/v1/jobs` and must be treated exactly like it. A request
 * that matched no route is not public either: it is counted by the rate limiter and answered 404.
 */
export function isPublicRoute(request: FastifyRequest): boolean {
  return request.routeOptions.config.public === true;
}

/** Whether the request matched a route at all (the not-found handler has no route URL). */
function matchedRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url !== undefined;
}

/**
 * Every route needs a key when keys are configured, unless it is declared public
 * (`config: { public: true }`): `Authorization: Bearer <key>`, or for a WebSocket a
 * `trainyard.key.<key>` subprotocol or, failing both, a first message `{"type": "auth", "key": ...}`
 * (the route checks that one). Without keys every request is the local tenant, and the server
 * listens on loopback only.
 *
 * `identifyCallers` runs first; the rate limiter then counts the request (per tenant, or per
 * address when there is none, so guessing keys is limited too); `rejectUnauthenticated` answers
 * 401 before the body is read.
 */
export function identifyCallers(app: FastifyInstance, keys: KeyRing): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('authProblem', null);
  app.addHook('onRequest', async (request) => {
    if (isPublicRoute(request) || !matchedRoute(request)) return;
    if (!keys.enabled) {
      request.principal = localPrincipal;
      return;
    }
    try {
      const key = bearerKey(request);
      if (key === null) {
        // A WebSocket may send its key in a first message (only the events route accepts upgrades,
        // and it checks); every other request needs it now.
        if (!isUpgrade(request)) request.authProblem = unauthorized('this API needs a key: send "Authorization: Bearer <key>"');
        return;
      }
      request.principal = keys.identify(key);
      if (!request.principal) request.authProblem = unauthorized('the API key is not valid');
    } catch (err) {
      request.authProblem = err as HttpProblem;
    }
  });
}

/**
 * Deny by default: a non-public route reached without a caller answers 401 here, so no handler
 * ever runs without one (only a WebSocket upgrade may still send its key as a first message), and
 * an admin route (config `admin`, decided on the matched route like `public`) without an admin key 403.
 */
export function rejectUnauthenticated(app: FastifyInstance): void {
  app.addHook('preParsing', async (request) => {
    if (request.authProblem) throw request.authProblem;
    if (request.routeOptions.config.admin === true && request.principal?.admin !== true) {
      throw request.principal ? new HttpProblem(403, 'admin-only', 'Forbidden', 'this route needs an admin key (ADMIN_API_KEYS, or `npm run api-key -- --admin`)') : unauthorized('this route needs an admin key');
    }
    if (request.principal || isPublicRoute(request) || !matchedRoute(request) || isUpgrade(request)) return;
    throw unauthorized('this API needs a key: send "Authorization: Bearer <key>"');
  });
}

function isUpgrade(request: FastifyRequest): boolean {
  return request.headers.upgrade?.toLowerCase() === 'websocket';
}

/** Whether a caller may see something owned by `tenant` (others get 404, never 403: no existence leak). */
export function canSee(principal: Principal, tenant: string | undefined): boolean {
  return principal.admin || principal.tenant === tenant;
}
