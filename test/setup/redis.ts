/**
 * vitest globalSetup: the tests that share a Redis read REDIS_URL (default
 * redis://127.0.0.1:6379). When none answers there, this starts a private redis-server on a free
 * port for the run, hands its URL to the test processes through REDIS_URL, and stops it after.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hasRedisServer, NoRedisError, startPrivateRedis } from '../../src/redis-server.js';
import { redisAnswers } from '../../src/queue/redis.js';
import { freePort } from '../helpers/redis.js';

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  // Which Node runs the tests: `npm run test:node22` shows it ran on 22.
  console.log(`tests on Node ${process.version}`);
  const wanted = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
  if (await redisAnswers(wanted, 1000)) return undefined;
  if (!hasRedisServer()) throw new NoRedisError(wanted);
  const dir = await mkdtemp(path.join(tmpdir(), 'trainyard-test-redis-'));
  const url = `redis://127.0.0.1:${await freePort()}`;
  const redis = await startPrivateRedis(url, dir);
  process.env['REDIS_URL'] = url;
  console.log(`no Redis answers at ${wanted}: the tests use a private redis-server at ${url}, stopped after the run`);
  return async () => {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
