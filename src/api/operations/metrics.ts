import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiMetrics } from '../../metrics/api-metrics.js';
import { problemResponses } from '../schemas/problem.js';
import type { Services } from '../services.js';

/** Times every request by its matched route pattern (never the raw URL: ids would explode the series). */
export function recordRequestDurations(app: FastifyInstance, metrics: ApiMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
}

/**
 * GET /metrics: Prometheus's text format, the API process's metrics and every live worker's
 * (pushed through Redis). For admin keys only; without keys, loopback only like every route.
 */
export const metricsRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const schema = {
    operationId: 'metrics',
    summary: "Prometheus metrics of this API process and of every live worker (admin keys only).",
    description:
      'Text exposition format 0.0.4. HTTP request durations by matched route and status, predict latency and batch sizes, queue depth by state, ' +
      'worker count, event-stream watchers, store operations and errors, Node process metrics (this API process); jobs started and finished by outcome, ' +
      'training iterations (a counter and a per-second gauge) and store operations of each worker, labelled `worker`, pushed every METRICS_PUSH_INTERVAL_MS.',
    response: {
      200: { description: 'The metrics.', content: { 'text/plain; version=0.0.4': { schema: Type.String() } } },
      ...problemResponses(401, 403, 429, 503),
    },
  };
  app.get('/metrics', { config: { admin: true }, schema }, async (_request, reply) => {
    const text = await services.metrics.render(await services.workerMetrics());
    return reply.type(services.metrics.contentType).send(text);
  });
};
