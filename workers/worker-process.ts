/**
 * A worker process: trains jobs from the queue, one at a time by default. Run more of them (on this
 * machine or others, against the same Redis and model store) to train more jobs at once.
 */
import os from 'node:os';
import { pino } from 'pino';
import { checkpointStore, datasetCatalogue, ingestionWorker, jobParts, modelStore, queueWorker, redisConnection, trainingBackend, workerPresence } from '../src/composition.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { loadDigits } from '../src/data/digits.js';
import { heapFaultExitCode } from '../src/nn/out-of-memory.js';
import { trainingJobHandler } from '../src/job-handler/training-job-handler.js';
import { pushWorkerMetrics } from '../src/metrics/pushed-metrics.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';
import { heartbeat, type WorkerState } from '../src/queue/worker-presence.js';
import { warmUp } from '../src/run/warm-up.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const workerId = `${os.hostname()}-${process.pid}`;
const startedAt = new Date().toISOString();
const log = pino({ level: config.logLevel, base: { workerId } });

const backend = await trainingBackend(config);
log.info({ backend: backend.name, device: backend.device, reason: backend.reason, adapter: backend.adapter }, 'backend chosen');
// Store the built-in digits now (the first start on a data directory), not when the first job is waiting for them.
const datasets = datasetCatalogue(config);
await datasets.prepareBuiltIns();

const onRedisError = (err: Error) => log.warn({ err: err.message }, 'redis connection error');
const connection = redisConnection(config, onRedisError);
const subscriber = redisConnection(config, onRedisError);

// Announced (GET /v1/admin/workers, /readyz's counts) from now on: warming up first where the backend compiles its kernels on first use.
let state: WorkerState = backend.compilesKernels ? 'warming-up' : 'ready';
const { name, package: pkg, device, adapter } = backend;
const presence = await heartbeat(
  workerPresence(config, connection),
  () => ({ id: workerId, state, backend: { name, package: pkg, device, ...(adapter ? { adapter } : {}) }, startedAt }),
  config.workers.heartbeatMs,
  (err) => log.warn({ err: err.message }, "could not renew this worker's announcement"),
);
if (state === 'warming-up') {
  log.info({ backend: backend.name }, 'warming up: compiling the backend\'s kernels on one mini-batch before taking jobs');
  const ms = await warmUp((await loadDigits()).train);
  state = 'ready';
  await presence.beat();
  log.info({ ms: Math.round(ms) }, 'warmed up');
}

const parts = jobParts(config, connection);
const metrics = new WorkerMetrics(workerId);
const stopPushingMetrics = pushWorkerMetrics(connection, parts.keys, workerId, metrics.registry, config.operations.metricsPushIntervalMs, () => metrics.updateRate());
const checkpoints = checkpointStore(config, metrics.store);
const worker = queueWorker(config, parts, {
  subscriber,
  workerId,
  observer: metrics,
  checkpoints,
  train: trainingJobHandler(
    config,
    { backend, models: modelStore(config, metrics.store), datasets, checkpoints },
    () => {
      // After the job's own failure is recorded (the lifecycle reads this job's outcome first), not before.
      setImmediate(() => void recycle());
    },
    log,
  ),
  log,
});
// Uploaded datasets are ingested here too, one at a time beside training, on a connection of their own.
const ingestionConnection = redisConnection(config, onRedisError);
const ingestion = ingestionWorker(config, ingestionConnection, { workerId, log });
await worker.start();
await ingestion.start();
log.info({ concurrency: config.workers.concurrency, redis: config.redis.prefix }, 'worker ready');

let stopping = false;
/** Takes no more jobs or datasets, hands running ones back to the queue, withdraws its announcement and closes Redis. */
async function stop(): Promise<void> {
  await Promise.all([worker.close(), ingestion.close()]);
  await Promise.all([presence.stop(), stopPushingMetrics()]);
  await Promise.all([connection.quit(), subscriber.quit(), ingestionConnection.quit()]).catch(() => {});
}
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: finishing the current iteration, handing running jobs back to the queue');
  await stop();
  log.info('worker stopped');
  process.exit(0);
}
/**
 * A memory fault left this process's wasm heap untrustworthy: take no more jobs, hand the other
 * running ones back to the queue, and exit with heapFaultExitCode for the supervisor (`npm start`,
 * docker compose's restart policy) to start a fresh worker.
 */
async function recycle(): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.error({ exitCode: heapFaultExitCode }, 'the backend ran out of memory: this worker takes no more jobs and exits to be replaced');
  await stop();
  process.exit(heapFaultExitCode);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// Started by `npm start`: stop with the API process rather than linger as an orphan.
if (process.send) process.on('disconnect', () => void shutdown('parent exited'));
