import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { redisAnswers } from './queue/redis.js';

/**
 * When nothing answers at REDIS_URL, `npm start` runs a private redis-server of its own, with its
 * data (AOF on) under DATA_DIR/redis, so jobs survive a restart. Without redis-server on the PATH it
 * stops with instructions instead.
 */
export interface PrivateRedis {
  process: ChildProcess;
  stop(): Promise<void>;
}

export class NoRedisError extends Error {
  constructor(url: string) {
    super(
      `no Redis answers at ${url}, and redis-server is not installed to start one.\n` +
        '  Install it (Debian/Ubuntu: apt-get install -y redis-server), point REDIS_URL at a running Redis,\n' +
        '  or run everything with docker compose up.',
    );
    this.name = 'NoRedisError';
  }
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startPrivateRedis(url: string, dataDir: string): Promise<PrivateRedis> {
  const { hostname, port } = new URL(url);
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(hostname)) {
    throw new Error(`no Redis answers at ${url}; a private one is only started for a local address, not ${hostname}`);
  }
  const dir = path.join(dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', port || '6379', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--logfile', ''],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100 && child.exitCode === null; i++) {
    if (await redisAnswers(url, 200)) {
      return {
        process: child,
        async stop() {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`the private redis-server did not start on ${url}`);
}
