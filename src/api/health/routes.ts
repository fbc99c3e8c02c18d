import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { HttpProblem } from '../problem.js';
import { Health, Readiness } from '../schemas/health.js';
import { jsonResponse, problemResponse } from '../schemas/problem.js';
import type { Services } from '../services.js';

/**
 * /healthz: the process is up. /readyz: Redis answers, and how many workers are ready or warming up.
 * Both are open (probes carry no key): they say nothing about any tenant's jobs, and name no worker,
 * host or device (GET /v1/admin/workers does, for admin keys).
 */
export const healthRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.get('/healthz', { config: { public: true }, schema: { operationId: 'health', summary: 'The process is up.', response: { 200: Health } } }, async () => ({ status: 'ok' as const }));

  const readySchema = {
    operationId: 'ready',
    summary: 'Redis answers; how many workers are ready and warming up (no worker, host or device named).',
    response: { 200: jsonResponse(Readiness, 'Ready.'), 503: problemResponse(503, 'Redis does not answer within 2 s.') },
  };
  app.get('/readyz', { config: { public: true }, schema: readySchema }, async (request) => {
    try {
      await withTimeout(services.readiness.ping(), 2000);
      const live = await withTimeout(services.workers.live(), 2000);
      const ready = live.filter((w) => w.state === 'ready').length;
      return { status: 'ready' as const, workers: { ready, warmingUp: live.length - ready } };
    } catch (err) {
      request.log.warn({ err: (err as Error).message }, 'not ready');
      throw new HttpProblem(503, 'not-ready', 'Service Unavailable', 'Redis does not answer', { redis: 'unreachable' });
    }
  });
};

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}
