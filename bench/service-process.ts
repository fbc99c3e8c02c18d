import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, PrivateRedis } from '../test/helpers/redis.js';

const root = path.resolve(import.meta.dirname, '..');

export interface ServiceProcess {
  base: string;
  dataDir: string;
  /** The API process's id (its CPU time is in /proc/<pid>/stat). */
  pid: number;
  redisUrl: string;
  /** The environment it runs with: a worker started beside it joins the same queue with this. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * The service as `npm start` runs it (src/server.ts with WORKERS worker processes), on a private
 * redis-server and a temporary DATA_DIR, with rate limits and quotas out of a benchmark's way.
 * `prepare` runs on the data folder before the service starts (to put a model there, say); `extraEnv`
 * adds to or overrides its environment.
 */
export async function startServiceProcess(workers: number, prepare: (dataDir: string) => Promise<void> = async () => {}, extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
  const redis = await PrivateRedis.start();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'trainyard-bench-'));
  await prepare(dataDir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    DATA_DIR: dataDir,
    PORT: String(port),
    WORKERS: String(workers),
    LOG_LEVEL: 'warn',
    TRAINYARD_BACKEND: process.env['TRAINYARD_BACKEND'] ?? 'wasm',
    RATE_LIMIT_PER_MINUTE: '100000000',
    TENANT_MAX_QUEUED_JOBS: '100000000',
    ...extraEnv,
  };
  const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: root, env: { ...process.env, ...env }, stdio: 'inherit' });
  const stop = async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
    await redis.destroy();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(base, workers);
  } catch (err) {
    await stop();
    throw err;
  }
  return { base, dataDir, pid: server.pid!, redisUrl: redis.url, env, stop };
}

/** Until /readyz answers and counts the ready workers asked for. */
async function waitUntilReady(base: string, workers: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok && ((await res.json()) as { workers: { ready: number } }).workers.ready >= workers) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the service did not become ready');
}
