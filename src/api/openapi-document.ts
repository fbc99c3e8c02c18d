import Fastify from 'fastify';
import type { Config } from '../config.js';
import { connect } from '../queue/redis.js';
import { app, fastifyOptions } from './app.js';
import { ApiMetrics } from '../metrics/api-metrics.js';
import { KeyRing } from './keys.js';
import type { Services } from './services.js';

/**
 * The OpenAPI document of the API's routes as `config` sets them up, from an instance that never
 * listens and never connects: `npm run openapi` writes it to openapi.yaml, the test compares.
 * While registering, the routes read only the configuration, the keys, the Redis client (which
 * the rate limiter prepares a script on, offline) and the metrics; no handler runs here, so nothing else is built.
 */
export async function generateOpenapi(config: Config): Promise<string> {
  const redis = connect(config.redis.url, { lazyConnect: true });
  // Metrics with nothing behind them: the document's own request is timed like any other.
  const metrics = new ApiMetrics({ queueDepth: async () => ({}), workerCount: async () => 0, watchers: () => 0 });
  const registering: Pick<Services, 'config' | 'apiKeys' | 'rateLimitStore' | 'metrics'> = { config, apiKeys: await KeyRing.load(config), rateLimitStore: redis, metrics };
  const fastify = Fastify(fastifyOptions(config.http));
  try {
    await fastify.register(app, { services: registering as Services });
    // The document route is public and touches no service: what it serves is the document.
    const response = await fastify.inject({ method: 'GET', url: '/openapi.yaml' });
    if (response.statusCode !== 200) throw new Error(`GET /openapi.yaml answered ${response.statusCode}: ${response.body.slice(0, 200)}`);
    return response.body;
  } finally {
    await fastify.close();
    redis.disconnect();
  }
}
