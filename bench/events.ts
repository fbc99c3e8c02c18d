/**
 * The event path under load: --jobs jobs running at once on a stub worker process (a real
 * QueueWorker publishing a progress record every --interval-ms, see stub-worker.ts), watched by
 * 1 WebSocket a job (the reference row), then 10 and 100 a job (1,000 in all by default), all on one API
 * process (src/server.ts, as `npm start` runs it). For each row: the API process's CPU (from
 * /proc/<pid>/stat, over the run), event delivery latency from publish to socket (the event id is
 * Redis's clock at XADD; the watchers run on the same machine and clock), events delivered, and
 * the most Redis clients seen during the run. Linux only (reads /proc).
 *
 *   npm run bench:events -- [--jobs 10] [--per-job 1,10,100] [--iterations 100] [--interval-ms 100]
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { RedisClients } from '../test/helpers/redis.js';
import { startServiceProcess } from './service-process.js';

const { values } = parseArgs({
  options: { jobs: { type: 'string', default: '10' }, 'per-job': { type: 'string', default: '1,10,100' }, iterations: { type: 'string', default: '100' }, 'interval-ms': { type: 'string', default: '100' } },
});
const jobs = Number(values.jobs);
const rows = values['per-job'].split(',').map(Number);
const root = path.resolve(import.meta.dirname, '..');
const seed = (await import('../examples/seed-elu.json', { with: { type: 'json' } })).default;
const clockTicks = 100; // USER_HZ, 100 on Linux

const most = Math.max(...rows) * jobs;
const service = await startServiceProcess(0, undefined, {
  TENANT_MAX_EVENT_SOCKETS: String(most),
  HTTP_MAX_CONNECTIONS: String(most + 100),
  TENANT_MAX_RUNNING_JOBS: String(jobs),
  WORKER_CONCURRENCY: String(jobs),
});
const redisClients = new RedisClients(service.redisUrl);
try {
  console.log(`${new Date().toISOString()}; machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, node ${process.version}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`${jobs} jobs at once, ${values.iterations} progress events each, one every ${values['interval-ms']} ms; watchers in this process\n`);
  console.log('watchers   events delivered   API CPU %   API CPU ms per 1,000 deliveries   latency p50 ms   p99 ms   max ms   Redis clients (max)');
  let reference: number | null = null;
  for (const perJob of rows) {
    const row = await run(perJob);
    reference ??= row.cpuPercent;
    console.log(
      `${String(perJob * jobs).padStart(8)}   ${String(row.delivered).padStart(16)}   ${row.cpuPercent.toFixed(1).padStart(9)}   ${((row.cpuSeconds * 1e6) / row.delivered).toFixed(0).padStart(31)}   ${row.p50.toFixed(0).padStart(14)}   ${row.p99.toFixed(0).padStart(6)}   ${row.max.toFixed(0).padStart(6)}   ${String(row.clients).padStart(19)}` +
        `   (CPU x${(row.cpuPercent / reference).toFixed(2)} of the first row)`,
    );
  }
  console.log(`\nload average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  redisClients.close();
  await service.stop();
}

async function run(perJob: number) {
  const ids: string[] = [];
  for (let i = 0; i < jobs; i++) {
    const res = await fetch(`${service.base}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ network: seed, dataset: 'digits', options: { maxEpochs: 1 } }) });
    ids.push(((await res.json()) as { id: string }).id);
  }
  const latencies: number[] = [];
  const sockets = ids.flatMap((id) => Array.from({ length: perJob }, () => watch(id, latencies)));
  await Promise.all(sockets.map((s) => s.following));
  const worker = spawn(process.execPath, ['--import', 'tsx', 'bench/stub-worker.ts', '--iterations', values.iterations, '--interval-ms', values['interval-ms']], {
    cwd: root,
    env: { ...process.env, ...service.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => worker.stdout.on('data', (d: Buffer) => String(d).includes('stub worker ready') && resolve()));
  const cpuBefore = await cpuSeconds(service.pid);
  const start = performance.now();
  let clients = 0;
  const sampling = setInterval(() => void redisClients.count().then((n) => (clients = Math.max(clients, n))), 250);
  await Promise.all(sockets.map((s) => s.closed));
  const seconds = (performance.now() - start) / 1000;
  const cpu = (await cpuSeconds(service.pid)) - cpuBefore;
  clearInterval(sampling);
  worker.kill('SIGTERM');
  await new Promise((resolve) => worker.once('exit', resolve));
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { delivered: latencies.length, cpuSeconds: cpu, cpuPercent: (cpu / seconds) * 100, p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? NaN, clients };
}

/** A watcher: resolves `following` once it has the job's history (its queued event), `closed` when the job ends. */
function watch(id: string, latencies: number[]) {
  const socket = new WebSocket(`${service.base.replace('http', 'ws')}/v1/jobs/${id}/events`);
  let first = true;
  let follow = () => {};
  const following = new Promise<void>((resolve) => (follow = resolve));
  socket.on('message', (data) => {
    const received = Date.now();
    const event = JSON.parse(String(data)) as { id: string };
    // The queued event is history replayed at connect; every later one is live.
    if (!first) latencies.push(received - Number(event.id.slice(0, event.id.indexOf('-'))));
    first = false;
    follow();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { following, closed };
}

/** User and system CPU seconds of a process so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}
