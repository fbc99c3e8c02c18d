import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandling } from '../../src/api/problem.js';
import { uiRoutes } from '../../src/api/ui.js';
import { buildUi, type BuiltFile } from '../../src/ui/build.js';

/** The page's files as src/api/ui.ts serves them, built into a folder of the test's own. */
let dir: string;
let built: BuiltFile[];
const servers: FastifyInstance[] = [];

async function serve(from: string): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  installErrorHandling(app);
  await app.register(uiRoutes, { dir: from });
  servers.push(app);
  return app;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'trainyard-ui-'));
  built = await buildUi(dir);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('serving the web page', () => {
  it('builds a small bundle', () => {
    const size = Object.fromEntries(built.map((f) => [f.name, f.gzipBytes]));
    expect(size['app.js']).toBeLessThan(60 * 1024);
    expect(size['app.css']).toBeLessThan(10 * 1024);
  });

  it('serves the page with a strict content security policy, and refers to its files by relative URLs only', async () => {
    const app = await serve(dir);
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.body).toContain('src="ui/app.js"');
    expect(res.body).not.toMatch(/(src|href)="\//);
    const script = readFileSync(path.join(dir, 'app.js'), 'utf8');
    expect(script).not.toMatch(/["'`]\/v1\//);
  });

  it('serves its files gzipped when asked, with an ETag that answers 304', async () => {
    const app = await serve(dir);
    const res = await app.inject({ url: '/ui/app.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/javascript');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.rawPayload).equals(readFileSync(path.join(dir, 'app.js')))).toBe(true);
    const again = await app.inject({ url: '/ui/app.js', headers: { 'if-none-match': String(res.headers['etag']) } });
    expect(again.statusCode).toBe(304);
    const seed = await app.inject({ url: '/ui/seed-network.json' });
    expect(seed.json()).toEqual(JSON.parse(readFileSync(new URL('../../examples/seed-elu.json', import.meta.url), 'utf8')));
  });

  it('answers 404 for a file it does not have, and 503 saying how to build when nothing is built', async () => {
    const app = await serve(dir);
    const missing = await app.inject({ url: '/ui/secret.txt' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
    const unbuilt = await serve(path.join(dir, 'nothing-here'));
    for (const url of ['/', '/ui/app.js']) {
      const res = await unbuilt.inject({ url });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ detail: expect.stringContaining('npm run build:ui') });
    }
  });
});
