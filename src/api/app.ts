import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { healthRoutes } from './health/routes.js';
import { jobEventRoutes } from './jobs/events.js';
import { jobRoutes } from './jobs/routes.js';
import { modelRoutes } from './models/routes.js';
import { openapiRoute } from './openapi.js';
import { installErrorHandling } from './problem.js';
import type { Services } from './services.js';
import { uiRoutes } from './ui.js';

/**
 * The whole API as one plugin: the process entry (src/server.ts) and the tests register it on a
 * Fastify instance of their own.
 */
export async function app(fastify: FastifyInstance, { services }: { services: Services }): Promise<void> {
  installErrorHandling(fastify);
  // JSON (and PNG for predict) only: anything else is 415, not a string that fails validation.
  fastify.removeContentTypeParser('text/plain');
  await fastify.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await fastify.register(healthRoutes, { services });
  await fastify.register(openapiRoute);
  await fastify.register(jobRoutes, { services });
  await fastify.register(jobEventRoutes, { services });
  await fastify.register(modelRoutes, { services });
  await fastify.register(uiRoutes);
}

/** Fastify options every trainyard API instance uses. */
export function fastifyOptions(bodyLimit: number): FastifyServerOptions {
  return {
    bodyLimit,
    // Client errors name every field; unknown fields are rejected rather than silently dropped.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    // Problem details are written by the error handler; never echo internals.
    return503OnClosing: true,
  };
}
