import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import type { Server } from 'node:http';
import type { FastifyHttpOptions, FastifyInstance } from 'fastify';
import { datasetRoutes } from './datasets/routes.js';
import { healthRoutes } from './health/routes.js';
import { jobEventRoutes } from './jobs/events.js';
import { jobRoutes } from './jobs/routes.js';
import { layerRoutes } from './layers/routes.js';
import { networkRoutes } from './networks/routes.js';
import { modelRoutes } from './models/routes.js';
import { describeRoutes, openapiRoute } from './openapi.js';
import type { Config } from '../config.js';
import { identifyCallers, isPublicRoute, rejectUnauthenticated, wsProtocol } from './auth.js';
import { clientErrorProblem, HttpProblem, installErrorHandling, redisUnavailable, routeNotFound, routerErrorProblem } from './problem.js';
import type { Services } from './services.js';
import { uiRoutes } from './ui.js';
import { bullBoard } from './operations/bull-board.js';
import { metricsRoutes, recordRequestDurations } from './operations/metrics.js';
import { workerRoutes } from './operations/workers.js';
import { useJsonBodyParser } from './json-body.js';

/**
 * The whole API as one plugin: the process entry (src/server.ts) and the tests register it on a
 * Fastify instance of their own.
 */
export async function app(fastify: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { config } = services;
  // Beyond this Node drops new connections at once, before any of them can pin memory or a socket.
  fastify.server.maxConnections = config.http.maxConnections;
  installErrorHandling(fastify);
  // Before any route: the OpenAPI document is built from the routes' schemas as they register.
  await describeRoutes(fastify);
  // JSON (and PNG for predict) only: anything else is 415, not a string that fails validation.
  fastify.removeContentTypeParser('text/plain');
  useJsonBodyParser(fastify);
  await fastify.register(helmet, { global: true });
  // CORS is off unless origins are configured: then those origins may call the API from a browser.
  if (config.access.corsOrigins.length > 0) {
    await fastify.register(cors, { origin: config.access.corsOrigins, exposedHeaders: ['location', 'retry-after'], allowedHeaders: ['authorization', 'content-type', 'idempotency-key'] });
  }
  identifyCallers(fastify, services.apiKeys);
  recordRequestDurations(fastify, services.metrics);
  // With Redis down every non-public route would wait on it (the rate limiter first): answer 503 now.
  fastify.addHook('onRequest', async (request) => {
    if (!isPublicRoute(request) && !services.readiness.connected()) throw redisUnavailable();
  });
  await fastify.register(rateLimit, {
    max: config.limits.requestsPerMinute,
    timeWindow: 60_000,
    redis: services.rateLimitStore,
    nameSpace: `${config.redis.prefix}:ratelimit:`,
    // Per tenant once authenticated (the same across API replicas), per address before.
    keyGenerator: (request) => (request.principal ? `tenant:${request.principal.tenant}` : `ip:${request.ip}`),
    // By the matched route, like authentication: only public routes go uncounted (unmatched URLs count).
    allowList: (request) => isPublicRoute(request),
    errorResponseBuilder: (_request, context) =>
      new HttpProblem(429, 'rate-limited', 'Too Many Requests', `more than ${context.max} requests a minute; retry in ${Math.ceil(context.ttl / 1000)} s (RATE_LIMIT_PER_MINUTE)`),
  });
  // Unmatched URLs are counted too: probing for routes costs the same as calling them.
  fastify.setNotFoundHandler({ preHandler: fastify.rateLimit() }, routeNotFound);
  rejectUnauthenticated(fastify);
  await fastify.register(websocket, {
    options: {
      maxPayload: 64 * 1024,
      // Browsers offer the key as a second subprotocol; the server answers with the API's own name.
      handleProtocols: (protocols: Set<string>) => (protocols.has(wsProtocol) ? wsProtocol : false),
    },
  });
  await fastify.register(healthRoutes, { services });
  await fastify.register(openapiRoute);
  await fastify.register(jobRoutes, { services });
  await fastify.register(jobEventRoutes, { services });
  await fastify.register(modelRoutes, { services });
  await fastify.register(layerRoutes, { services });
  await fastify.register(networkRoutes, { services });
  await fastify.register(datasetRoutes, { services });
  await fastify.register(uiRoutes);
  await fastify.register(metricsRoutes, { services });
  await fastify.register(workerRoutes, { services });
  await fastify.register(bullBoard, { services });
}

/**
 * Fastify options every trainyard API instance uses: limits on how long a client may take and how
 * many connections it may hold, and problem details for what the router or Node itself refuses.
 */
export function fastifyOptions(http: Config['http']): FastifyHttpOptions<Server> {
  return {
    bodyLimit: http.bodyLimit,
    requestTimeout: http.requestTimeoutMs,
    connectionTimeout: http.connectionTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    maxRequestsPerSocket: http.maxRequestsPerSocket,
    // Node checks the request and header timeouts on this interval (30 s by default): once a second
    // holds them to within a second. Node refuses a header timeout longer than the request's.
    http: { headersTimeout: Math.min(http.headersTimeoutMs, http.requestTimeoutMs), connectionsCheckingInterval: 1000 },
    frameworkErrors: routerErrorProblem,
    clientErrorHandler: clientErrorProblem,
    // Client errors name every field; unknown fields are rejected rather than silently dropped.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    // Problem details are written by the error handler; never echo internals.
    return503OnClosing: true,
  };
}
