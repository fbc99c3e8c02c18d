/**
 * A worker process: trains jobs from the queue, one at a time by default. Run more of them (on this
 * machine or others, against the same Redis and model store) to train more jobs at once.
 */
import os from 'node:os';
import { pino } from 'pino';
import { datasetCatalogue, ingestionWorker, jobParts, modelStore, queueWorker, redisConnection, trainingBackend } from '../src/composition.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { heapFaultExitCode } from '../src/nn/out-of-memory.js';
import { trainingJobHandler } from '../src/job-handler/training-job-handler.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const workerId = `${os.hostname()}-${process.pid}`;
const log = pino({ level: config.logLevel, base: { workerId } });

const backend = await trainingBackend(config);
log.info({ backend: backend.name, device: backend.device, reason: backend.reason, adapter: backend.adapter }, 'backend chosen');
// Store the built-in digits now (the first start on a data directory), not when the first job is waiting for them.
const datasets = datasetCatalogue(config);
await datasets.prepareBuiltIns();

const onRedisError = (err: Error) => log.warn({ err: err.message }, 'redis connection error');
const connection = redisConnection(config, onRedisError);
const subscriber = redisConnection(config, onRedisError);
const worker = queueWorker(config, jobParts(config, connection), {
  subscriber,
  workerId,
  train: trainingJobHandler(config, { backend, models: modelStore(config), datasets }, () => {
    // After the job's own failure is recorded (the lifecycle reads this job's outcome first), not before.
    setImmediate(() => void recycle());
  }),
  log,
});
// Uploaded datasets are ingested here too, one at a time beside training, on a connection of their own.
const ingestionConnection = redisConnection(config, onRedisError);
const ingestion = ingestionWorker(config, ingestionConnection, { workerId, log });
await worker.start();
await ingestion.start();
log.info({ concurrency: config.workers.concurrency, redis: config.redis.prefix }, 'worker ready');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: finishing the current iteration, handing running jobs back to the queue');
  await Promise.all([worker.close(), ingestion.close()]);
  await Promise.all([connection.quit(), subscriber.quit(), ingestionConnection.quit()]).catch(() => {});
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
  await Promise.all([worker.close(), ingestion.close()]);
  await Promise.all([connection.quit(), subscriber.quit(), ingestionConnection.quit()]).catch(() => {});
  process.exit(heapFaultExitCode);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// Started by `npm start`: stop with the API process rather than linger as an orphan.
if (process.send) process.on('disconnect', () => void shutdown('parent exited'));
