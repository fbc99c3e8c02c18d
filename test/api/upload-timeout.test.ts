import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { digitsZip } from '../helpers/datasets.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/**
 * The upload route times its body by idleness (DATASET_UPLOAD_IDLE_TIMEOUT_MS), not by the
 * server-wide HTTP_REQUEST_TIMEOUT_MS that still cuts every other slow request. Raw sockets, so the
 * body's pace is the test's.
 */
const aliceKey = 'alice-key-0123456789abcdef';
const requestTimeoutMs = 1500;
const idleMs = 1500;

let env: ServiceEnv;
let api: Api;
let archive: Buffer;
beforeAll(async () => {
  env = await serviceEnv('upload-timeout', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', {
    API_KEYS: `alice:${aliceKey}`,
    HTTP_REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
    HTTP_HEADERS_TIMEOUT_MS: String(requestTimeoutMs),
    DATASET_UPLOAD_IDLE_TIMEOUT_MS: String(idleMs),
  });
  api = await Api.start(env.config);
  archive = await digitsZip(4, 2);
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

/** Sends a request's head, then `parts` of its body `gapMs` apart; resolves with what came back once the server closes. */
async function paced(path: string, contentType: string, length: number, parts: Buffer[], gapMs: number): Promise<string> {
  const socket = net.connect(Number(new URL(api.base).port), '127.0.0.1');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${aliceKey}\r\nContent-Type: ${contentType}\r\nContent-Length: ${length}\r\n\r\n`);
  for (const part of parts) {
    await sleep(gapMs);
    if (socket.destroyed) break;
    socket.write(part);
  }
  await closed;
  return received;
}

function chunks(bytes: Buffer, count: number): Buffer[] {
  const size = Math.ceil(bytes.length / count);
  return Array.from({ length: count }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
}

it('takes an upload that lasts longer than HTTP_REQUEST_TIMEOUT_MS while its bytes flow', async () => {
  const started = Date.now();
  const response = await paced('/v1/datasets?name=slow', 'application/zip', archive.length, chunks(archive, 16), 250);
  expect(Date.now() - started).toBeGreaterThan(requestTimeoutMs + 1000); // past the request timeout and Node's 1 s check
  expect(response).toMatch(/^HTTP\/1\.1 202 /);
  expect(response).toContain('"status":"ingesting"');
});

it('cuts an upload once no bytes arrive for DATASET_UPLOAD_IDLE_TIMEOUT_MS, with a 408 problem, and keeps nothing', async () => {
  const half = archive.subarray(0, archive.length >> 1);
  const response = await paced('/v1/datasets?name=idle', 'application/zip', archive.length, [half], 10);
  expect(response).toMatch(/^HTTP\/1\.1 408 /);
  expect(response).toContain('content-type: application/problem+json');
  expect(response).toContain('DATASET_UPLOAD_IDLE_TIMEOUT_MS');
  const listed = await api.json<{ datasets: { name: string }[] }>('GET', '/v1/datasets', undefined, { authorization: `Bearer ${aliceKey}` });
  expect(listed.body.datasets.map((d) => d.name)).toEqual(['slow']);
});

it('still cuts any other slow request at HTTP_REQUEST_TIMEOUT_MS', async () => {
  const body = Buffer.from(JSON.stringify({ network: { layers: [] }, dataset: 'digits' }));
  const response = await paced('/v1/jobs', 'application/json', body.length, chunks(body, 16), 250);
  expect(response).toMatch(/^HTTP\/1\.1 408 /);
  expect(response).toContain('HTTP_REQUEST_TIMEOUT_MS');
});
