import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, seedNetwork, serviceEnv, Watcher, type ServiceEnv } from '../helpers/service.js';
import { PrivateRedis, RedisClients } from '../helpers/redis.js';

/**
 * Event sockets and Redis outages, on a Redis of the test's own so its client count is ours alone
 * and it can be stopped. No worker: jobs stay queued unless cancelled.
 */
const socketCap = 3;
const request = { network: seedNetwork, dataset: 'digits', options: { maxEpochs: 1 } };

let redis: PrivateRedis;
let env: ServiceEnv;
let api: Api;
let redisClients: RedisClients;
beforeAll(async () => {
  redis = await PrivateRedis.start();
  env = await serviceEnv('edge-redis', redis.url, { TENANT_MAX_EVENT_SOCKETS: String(socketCap), REDIS_COMMAND_TIMEOUT_MS: '1000' });
  api = await Api.start(env.config);
  redisClients = new RedisClients(redis.url);
});
afterAll(async () => {
  redisClients.close();
  await api.close();
  await env.cleanup();
  await redis.destroy();
});

const eventsUrl = (id: string, query = '') => `${api.base.replace('http', 'ws')}/v1/jobs/${id}/events${query}`;

async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe('event sockets', () => {
  it('closes normally, sending nothing, when since is at or past the terminal event', async () => {
    const { body } = await api.submit(request);
    expect((await api.json('DELETE', `/v1/jobs/${body.id}`)).status).toBe(200);
    const all = api.watch(body.id);
    expect((await all.closed).code).toBe(1000);
    const terminal = all.events.at(-1)!;
    expect(terminal.type).toBe('cancelled');
    for (const since of [terminal.id, '99999999999999-0']) {
      const after = api.watch(body.id, since);
      expect(await after.closed, since).toMatchObject({ code: 1000 });
      expect(after.events).toEqual([]);
    }
  });

  it('closes a malformed since with 4400, including ids past the 64-bit range', async () => {
    const { body } = await api.submit(request);
    for (const since of ['yesterday', '1-99999999999999999999', '99999999999999999999-0']) {
      expect((await new Watcher(eventsUrl(body.id, `?since=${since}`)).closed).code, since).toBe(4400);
    }
  });

  it('leaves no Redis reader behind when 40 sockets upgrade and drop at once', async () => {
    const { body } = await api.submit(request);
    // Since its latest event, so each socket goes straight to waiting on Redis for the next one.
    const first = api.watch(body.id);
    const latest = await first.until((e) => e.type === 'status');
    first.socket.close();
    await first.closed;
    const before = await redisClients.count();
    const { port } = new URL(api.base);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        // Hang up the moment the upgrade is answered, while the handler is still looking the job up.
        const socket = net.connect(Number(port), '127.0.0.1');
        const key = Buffer.from(`drop-${i}-0123456`).toString('base64');
        socket.write(
          `GET /v1/jobs/${body.id}/events?since=${latest.id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
        socket.on('error', () => {});
        socket.once('data', () => socket.destroy());
        return new Promise<void>((resolve) => socket.once('close', () => resolve()));
      }),
    );
    expect(await eventually(async () => (await redisClients.count()) <= before)).toBe(true);
  });

  it(`closes a tenant's socket beyond TENANT_MAX_EVENT_SOCKETS with 4429, and frees the slot on close`, async () => {
    const { body } = await api.submit(request);
    const open = Array.from({ length: socketCap }, () => api.watch(body.id));
    for (const watcher of open) await watcher.until((e) => e.type === 'status');
    const over = api.watch(body.id);
    expect((await over.closed).code).toBe(4429);
    open[0]!.socket.close();
    await open[0]!.closed;
    const again = api.watch(body.id);
    await again.until((e) => e.type === 'status');
    for (const watcher of [...open.slice(1), again]) watcher.socket.close();
    await Promise.all([...open, again].map((w) => w.closed));
  });
});

describe('Redis down', () => {
  it('answers /v1 requests with a 503 problem at once instead of waiting for Redis', async () => {
    await redis.stop();
    try {
      for (const [method, url] of [['GET', '/v1/jobs'], ['POST', '/v1/jobs'], ['GET', '/v1/models']] as const) {
        const res = await fetch(api.base + url, {
          method,
          headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
          body: method === 'POST' ? JSON.stringify(request) : undefined,
          // A bound, not a speed claim: before the fix these waited about 300 s.
          signal: AbortSignal.timeout(10_000),
        });
        expect(res.status, `${method} ${url}`).toBe(503);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
        expect(res.headers.get('retry-after')).toBe('5');
      }
      expect((await fetch(`${api.base}/healthz`)).status).toBe(200);
    } finally {
      await redis.run();
    }
    expect(await eventually(async () => (await fetch(`${api.base}/v1/jobs`)).status === 200)).toBe(true);
  });
});
