/**
 * `npm start`: the API and WORKERS worker processes against REDIS_URL (a private redis-server is
 * started when none answers there). SIGTERM or SIGINT stops everything gracefully: the API stops
 * accepting requests, workers hand their running jobs back to the queue.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import Fastify from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ConfigError, loadConfig, type Config } from './config.js';
import { app, fastifyOptions } from './api/app.js';
import { apiLogger } from './api/logging.js';
import { createServices } from './api/services.js';
import { trainingBackend } from './composition.js';
import { heapFaultExitCode } from './nn/out-of-memory.js';
import { siblingModule } from './paths.js';
import { redisAnswers } from './queue/redis.js';
import { hasRedisServer, NoRedisError, startPrivateRedis, type PrivateRedis } from './redis-server.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const fastify = Fastify({ ...fastifyOptions(config.http), logger: apiLogger({ level: config.logLevel, base: { role: 'api' } }) }).withTypeProvider<TypeBoxTypeProvider>();
const log = fastify.log;

let privateRedis: PrivateRedis | null = null;
if (!(await redisAnswers(config.redis.url))) {
  if (!hasRedisServer()) {
    console.error(new NoRedisError(config.redis.url).message);
    process.exit(1);
  }
  privateRedis = await startPrivateRedis(config.redis.url, config.dataDir);
  log.info({ redis: config.redis.url, dir: `${config.dataDir}/redis` }, 'started a private redis-server (AOF on)');
}

const workerEntry = siblingModule(import.meta.url, '../workers/worker-process.ts');
const workers = new Set<ChildProcess>();
let stopping = false;

function startWorker(index: number): void {
  const child = fork(workerEntry, [], { env: process.env, stdio: 'inherit' });
  workers.add(child);
  child.once('exit', (code, signal) => {
    workers.delete(child);
    if (stopping) return;
    // A worker recycled after a memory fault has failed its job already: replace it at once. Any other exit waits a second, so a crash loop does not spin.
    const recycled = code === heapFaultExitCode;
    log.warn({ worker: index, code, signal }, recycled ? 'worker recycled after running out of memory; starting a fresh one' : 'worker exited; starting another in 1 s');
    setTimeout(() => !stopping && startWorker(index), recycled ? 0 : 1000).unref();
  });
}
for (let i = 0; i < config.workers.count; i++) startWorker(i);
// Each worker process computes on TRAINYARD_THREADS threads (its jobs take turns on them); more than the cores and they wait on each other.
if (config.workers.count * config.threads > availableParallelism()) {
  log.warn({ workers: config.workers.count, threads: config.threads, cores: availableParallelism() }, 'WORKERS x TRAINYARD_THREADS is more than the cores: training threads will wait on each other; lower TRAINYARD_THREADS');
}

// The API process predicts with the models itself, on the same kind of backend as the workers.
const backend = await trainingBackend(config);
log.info({ backend: backend.name, device: backend.device, reason: backend.reason }, 'backend chosen');
const services = await createServices(config, (err) => log.warn({ err: err.message }, 'redis connection error'));
await fastify.register(app, { services });
const host = listenAddress(config.http.host, services.apiKeys.enabled);
await fastify.listen({ host, port: config.http.port });
log.info({ workers: config.workers.count, auth: services.apiKeys.enabled }, `trainyard listening on http://${host}:${config.http.port}`);

/** Without API keys anyone who can reach the port could train on this machine: listen on loopback only. */
function listenAddress(configured: string, authenticated: boolean): string {
  if (authenticated) return configured;
  const loopback = ['127.0.0.1', '::1', 'localhost'].includes(configured) ? configured : '127.0.0.1';
  const also = loopback === configured ? '' : ` (HOST=${configured} needs API_KEYS or API_KEYS_FILE)`;
  log.warn(`no API keys configured: listening on ${loopback} only${also}; every request acts as tenant 'local'`);
  return loopback;
}

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  await fastify.close();
  await Promise.all(
    [...workers].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await services.close();
  await privateRedis?.stop();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
