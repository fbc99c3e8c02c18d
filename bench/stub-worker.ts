/**
 * A worker process for the event-path benchmark: a real QueueWorker (BullMQ, the catalogue's
 * scripts, the lifecycle) whose training is a stand-in that publishes a progress record every
 * --interval-ms for --iterations records, the pace at which a real worker's events go out
 * (PROGRESS_INTERVAL_MS), without tfjs competing with the API for the CPU.
 *
 *   tsx bench/stub-worker.ts --iterations 50 --interval-ms 100   (configuration from the environment)
 */
import { parseArgs } from 'node:util';
import { jobParts, queueWorker, redisConnection } from '../src/composition.js';
import { loadConfig } from '../src/config.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '50' }, 'interval-ms': { type: 'string', default: '100' } } });
const iterations = Number(values.iterations);
const intervalMs = Number(values['interval-ms']);
const config = loadConfig();
const quiet = () => {};
const connection = redisConnection(config, quiet);
const subscriber = redisConnection(config, quiet);
const worker = queueWorker(config, jobParts(config, connection), {
  subscriber,
  workerId: `stub-${process.pid}`,
  log: { info: quiet, warn: (obj, msg) => console.warn(msg, obj), error: (obj, msg) => console.error(msg, obj) },
  train: async (ctx) => {
    const start = performance.now();
    for (let iteration = 1; iteration <= iterations; iteration++) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      await ctx.publishProgress({
        epoch: 1,
        iteration,
        totalIterations: iterations,
        timeElapsed: (performance.now() - start) / 1000,
        miniBatchLoss: 2.3 / iteration,
        miniBatchAccuracy: Math.min(1, iteration / iterations),
        baseLearnRate: 0.01,
        verbose: false,
      });
    }
    return { modelId: ctx.id, metrics: { miniBatchLoss: 0.05, miniBatchAccuracy: 0.98 } };
  },
});
await worker.start();
console.log('stub worker ready');
process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
