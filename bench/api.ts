/**
 * The service's overhead: time from POST /v1/jobs to the first progress event, and predict
 * throughput and latency at 1, 8 and 32 concurrent clients over HTTP, next to the same model's
 * predict called in-process (the ratio is the cost of HTTP, JSON and the API).
 *
 *   npm run bench:api -- [--seconds 5] [--runs 3]
 *
 * Starts a private redis-server and `src/server.ts` (the API with one worker) on free ports.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { loadDigits } from '../src/data/digits.js';
import { initBackend } from '../src/nn/backend.js';
import { ModelStore } from '../src/store/models.js';
import { startServiceProcess } from './service-process.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, runs: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);
const network = (await import('../examples/seed-elu.json', { with: { type: 'json' } })).default;

const service = await startServiceProcess(1);
const { base, dataDir } = service;

try {
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, node ${process.version}\n`);

  const firstProgress: number[] = [];
  let modelId = '';
  for (let run = 0; run < Number(values.runs); run++) {
    const { ms, id } = await timeToFirstProgress();
    firstProgress.push(ms);
    modelId = id;
  }
  console.log(`POST /v1/jobs -> first progress event: median ${median(firstProgress).toFixed(0)} ms over ${firstProgress.length} jobs (${firstProgress.map((m) => m.toFixed(0)).join(', ')} ms)`);

  const { test } = await loadDigits();
  const instance = Array.from(test.images.subarray(0, 784));
  const body = JSON.stringify({ instances: [instance] });
  await initBackend(process.env['TRAINYARD_BACKEND'] === 'cpu' ? 'cpu' : 'wasm');
  const { classifier } = (await ModelStore.inDataDir(dataDir).load(modelId))!;
  const pixels = Float32Array.from(instance);
  const inProcess = await load(1, async () => void (await classifier.predict(pixels, 1)));
  console.log('\npredict, one 28x28 image per request');
  console.log('clients   throughput (req/s)   p50 (ms)   p99 (ms)');
  row('in-proc', inProcess);
  for (const clients of [1, 8, 32]) {
    const http = await load(clients, async () => {
      const res = await fetch(`${base}/v1/models/${modelId}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (res.status !== 200) throw new Error(`predict answered ${res.status}`);
      await res.arrayBuffer();
    });
    row(String(clients), http, inProcess);
  }
  classifier.dispose();
} finally {
  await service.stop();
}

async function timeToFirstProgress(): Promise<{ ms: number; id: string }> {
  const start = performance.now();
  const res = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ network, dataset: { id: 'digits', trainImages: 1280 }, options: { maxEpochs: 1, miniBatchSize: 128 } }),
  });
  const job = (await res.json()) as { id: string };
  const socket = new WebSocket(`${base.replace('http', 'ws')}/v1/jobs/${job.id}/events`);
  let first = 0;
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data) => {
      const event = JSON.parse(String(data)) as { type: string };
      if (event.type === 'progress' && !first) first = performance.now() - start;
      if (event.type === 'failed' || event.type === 'cancelled') reject(new Error(`job ${event.type}`));
    });
    socket.on('close', () => resolve());
  });
  return { ms: first, id: job.id };
}

interface LoadResult {
  throughput: number;
  p50: number;
  p99: number;
}

/** `clients` loops calling `call` back to back for the configured seconds. */
async function load(clients: number, call: () => Promise<void>): Promise<LoadResult> {
  for (let i = 0; i < 5; i++) await call();
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await call();
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { throughput: latencies.length / seconds, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
}

function row(label: string, r: LoadResult, reference?: LoadResult): void {
  const ratio = reference ? `   (${(reference.throughput / r.throughput).toFixed(1)}x in-process throughput, ${(r.p50 / reference.p50).toFixed(1)}x its p50)` : '';
  console.log(`${label.padStart(7)} ${r.throughput.toFixed(0).padStart(20)} ${r.p50.toFixed(2).padStart(10)} ${r.p99.toFixed(2).padStart(10)}${ratio}`);
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function median(values: number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}
