/**
 * Load on the running service: predict (one 28x28 image per request) and job submission (jobs
 * queue up; no worker runs, so training does not compete for the CPU), each at 1, 8 and 32
 * connections for a few seconds, with autocannon. Prints throughput, p50, p99 and errors.
 *
 *   npm run bench:load -- [--seconds 10]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadDigits } from '../src/data/digits.js';
import { initBackend } from '../src/nn/backend.js';
import { loadTest, type LoadFigures } from '../test/helpers/load.js';
import { saveTestModel } from '../test/helpers/models.js';
import { startServiceProcess } from './service-process.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);
const seed = (await import('../examples/seed-elu.json', { with: { type: 'json' } })).default;

await initBackend('wasm');
const { test } = await loadDigits();
const service = await startServiceProcess(0, (dataDir) => saveTestModel(dataDir, 'seed', { trainImages: 1280 }).then(() => {}));
const base = service.base;
try {
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, node ${process.version}; ${seconds} s per row; load generator on the same machine\n`);
  const predictBody = JSON.stringify({ instances: [Array.from(test.images.subarray(0, 784))] });
  const jobBody = JSON.stringify({ network: seed, dataset: 'digits', options: { maxEpochs: 1 } });
  console.log('endpoint               connections   req/s   p50 ms   p99 ms   errors   non-2xx');
  for (const [name, url, body] of [
    ['POST predict', `${base}/v1/models/seed/predict`, predictBody],
    ['POST /v1/jobs', `${base}/v1/jobs`, jobBody],
  ] as const) {
    for (const connections of [1, 8, 32]) {
      row(name, connections, await loadTest({ url, method: 'POST', body, connections, seconds }));
    }
  }
} finally {
  await service.stop();
}

function row(name: string, connections: number, r: LoadFigures): void {
  console.log(
    `${name.padEnd(22)} ${String(connections).padStart(11)} ${r.throughput.toFixed(0).padStart(7)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.errors).padStart(8)} ${String(r.non2xx).padStart(9)}`,
  );
}
