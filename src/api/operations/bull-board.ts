import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';

export const bullBoardPath = '/admin/queues';

/**
 * Bull Board at /admin/queues, for admin keys only: every route it adds is marked `admin` as it
 * registers, so the decision is made on the matched route like any other. Read-only unless
 * BULL_BOARD_READ_ONLY=false: its actions act on BullMQ alone, around the job catalogue.
 */
export async function bullBoard(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config as object), admin: true };
    // Its pages and JSON have no schemas of ours: they stay out of the API's description.
    route.schema = { ...route.schema, hide: true };
  });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(bullBoardPath);
  const board = createBullBoard({ queues: [], serverAdapter, options: { uiConfig: { boardTitle: 'trainyard' } } });
  // The queue is handed over at the first request, not while routes register (npm run openapi has no queue).
  let showing = false;
  app.addHook('onRequest', async () => {
    if (!showing) board.addQueue(new BullMQAdapter(services.queue.bullQueue, { readOnlyMode: services.config.operations.bullBoardReadOnly }));
    showing = true;
  });
  const plugin = serverAdapter.registerPlugin();
  await app.register(
    async (scope, options) => {
      // Its plugin would install an error handler of its own in this scope: it is held back, so
      // every error here leaves as problem+json like the rest of the API (401, 403, 429 included).
      const keepOurErrorHandler = Object.assign(Object.create(scope) as FastifyInstance, { setErrorHandler: () => scope });
      await new Promise<void>((resolve, reject) => plugin(keepOurErrorHandler, options, (err?: Error) => (err ? reject(err) : resolve())));
    },
    { prefix: bullBoardPath },
  );
}
