/**
 * A worker process: trains jobs from the queue, one at a time by default. Run more of them (on this
 * machine or others, against the same Redis and model store) to train more jobs at once.
 */
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../src/config.js';
import { loadDigits } from '../src/data/digits.js';
import { initBackend } from '../src/nn/backend.js';
import { CancelFlags } from '../src/queue/cancel.js';
import { JobCatalogue } from '../src/queue/catalogue.js';
import { JobEvents } from '../src/queue/events.js';
import { connect, Keys } from '../src/queue/redis.js';
import { TrainingWorker } from '../src/queue/training-worker.js';
import { ModelStore } from '../src/store/models.js';
import { jobTrainer } from '../src/worker/train-job.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const workerId = `${os.hostname()}-${process.pid}`;
const log = pino({ level: config.logLevel, base: { workerId } });

const backend = await initBackend(config.backend);
log.info({ backend: backend.name, device: backend.device, reason: backend.reason, adapter: backend.adapter }, 'backend chosen');
// Read the built-in digits now, not when the first job is waiting for them.
await loadDigits();

const connection = connect(config.redis.url);
const subscriber = connect(config.redis.url);
for (const c of [connection, subscriber]) c.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
const keys = new Keys(config.redis.prefix);
const worker = new TrainingWorker({
  connection,
  subscriber,
  keys,
  catalogue: new JobCatalogue(connection, keys),
  events: new JobEvents(connection, keys),
  cancels: new CancelFlags(connection, keys, config.events.retentionSeconds),
  workerId,
  concurrency: config.workers.concurrency,
  lockMs: config.workers.lockMs,
  stalledIntervalMs: config.workers.stalledIntervalMs,
  retentionSeconds: config.events.retentionSeconds,
  runningJobsPerTenant: config.limits.runningJobsPerTenant,
  trainingSeconds: config.limits.trainingSeconds,
  train: jobTrainer(config, backend, new ModelStore(path.join(config.dataDir, 'models'))),
  log,
});
await worker.start();
log.info({ concurrency: config.workers.concurrency, redis: config.redis.prefix }, 'worker ready');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down: finishing the current iteration, handing running jobs back to the queue');
  await worker.close();
  await Promise.all([connection.quit(), subscriber.quit()]).catch(() => {});
  log.info('worker stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// Started by `npm start`: stop with the API process rather than linger as an orphan.
if (process.send) process.on('disconnect', () => void shutdown('parent exited'));
