import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { jsonResponse, problemResponses } from '../schemas/problem.js';
import { WorkerList } from '../schemas/workers.js';
import type { Services } from '../services.js';

/**
 * GET /v1/admin/workers: each live worker (host name and pid, state, backend and GPU adapter) and
 * the training queue's depth. For admin keys only: public /readyz answers counts alone, since
 * host names and hardware help whoever probes the service and no load balancer needs them.
 */
export const workerRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const schema = {
    operationId: 'listWorkers',
    summary: "The live workers, with their host, state, backend and GPU adapter, and the training queue's depth (admin keys only).",
    response: { 200: jsonResponse(WorkerList, 'The live workers and the queue.'), ...problemResponses(401, 403, 429, 503) },
  };
  app.get('/v1/admin/workers', { config: { admin: true }, schema }, async () => {
    const [queue, workers] = await Promise.all([services.queue.depth(), services.workers.live()]);
    return { queue, workers };
  });
};
