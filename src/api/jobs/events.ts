import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isJobId } from '../../queue/ids.js';
import { eventSocketRoute } from '../event-socket.js';
import type { Services } from '../services.js';
import { JobEvent, JobParams } from '../schemas/jobs.js';

/** GET /v1/jobs/:id/events (WebSocket): see eventSocketRoute. */
export const jobEventRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  eventSocketRoute(app, services, {
    what: 'job',
    url: '/v1/jobs/:id/events',
    operationId: 'jobEvents',
    params: JobParams,
    event: JobEvent,
    terminal: '`completed`, `failed` or `cancelled`',
    owner: async (id) => (isJobId(id) ? ((await services.catalogue.get(id))?.tenant ?? null) : null),
    follow: (id, since, signal) => services.events.follow(services.follower, id, since, signal),
  });
};
