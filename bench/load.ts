/**
 * Load on the running service: predict (one 28x28 image per request) and job submission (jobs
 * queue up; no worker runs, so training does not compete for the CPU), each at 1, 8 and 32
 * connections for a few seconds, with autocannon. Prints throughput, p50, p99 and errors.
 *
 *   npm run bench:load -- [--seconds 10]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadDigits } from '../src/data/digits.js';
import { initBackend } from '../src/nn/backend.js';
import { loadTest, type LoadFigures } from '../test/helpers/load.js';
import { saveTestModel } from '../test/helpers/models.js';
import { freePort, PrivateRedis } from '../test/helpers/redis.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } });
const seconds = Number(values.seconds);
const root = path.resolve(import.meta.dirname, '..');
const seed = (await import('../examples/seed-elu.json', { with: { type: 'json' } })).default;

await initBackend('wasm');
const redis = await PrivateRedis.start();
const dataDir = await mkdtemp(path.join(tmpdir(), 'trainyard-load-'));
const { test } = await loadDigits();
await saveTestModel(dataDir, 'seed', { trainImages: 1280 });

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
  cwd: root,
  env: { ...process.env, REDIS_URL: redis.url, DATA_DIR: dataDir, PORT: String(port), WORKERS: '0', LOG_LEVEL: 'warn', TRAINYARD_BACKEND: 'wasm', RATE_LIMIT_PER_MINUTE: '100000000', TENANT_MAX_QUEUED_JOBS: '100000000' },
  stdio: 'inherit',
});
try {
  for (let i = 0; (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) === false; i++) {
    if (i > 300) throw new Error('the server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
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
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await redis.destroy();
  await rm(dataDir, { recursive: true, force: true });
}

function row(name: string, connections: number, r: LoadFigures): void {
  console.log(
    `${name.padEnd(22)} ${String(connections).padStart(11)} ${r.throughput.toFixed(0).padStart(7)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.errors).padStart(8)} ${String(r.non2xx).padStart(9)}`,
  );
}
