import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { projectRoot } from '../paths.js';
import { uiBuildDir } from '../ui/location.js';
import { HttpProblem, notFound } from './problem.js';
import { problemResponse, problemResponses } from './schemas/problem.js';

/** A file of the page, held in memory with its gzip form: there are three and they are small. */
interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/** What GET /ui/:file serves: the built script and stylesheet, and the seed network that prefills the job form. */
const assetSources: { name: string; type: string; file: (builtDir: string) => string }[] = [
  { name: 'app.js', type: 'text/javascript; charset=utf-8', file: (dir) => path.join(dir, 'app.js') },
  { name: 'app.css', type: 'text/css; charset=utf-8', file: (dir) => path.join(dir, 'app.css') },
  { name: 'seed-network.json', type: 'application/json; charset=utf-8', file: () => path.join(projectRoot, 'examples', 'seed-elu.json') },
];

/**
 * The page may load only its own script and stylesheet and talk only to its own origin (which,
 * for CSP, includes the same host's ws: and wss:). uPlot styles elements through the CSSOM, which
 * style-src does not restrict, so no 'unsafe-inline' is needed.
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const AssetParams = Type.Object(
  { file: Type.String({ minLength: 1, maxLength: 64, description: assetSources.map((a) => a.name).join(', '), examples: ['app.js'] }) },
  { additionalProperties: false },
);

const notModified = Type.Null({ description: 'Not modified (`If-None-Match` matched the `ETag`).' });
const text = Type.String();

const pageSchema = {
  operationId: 'webPage',
  summary: 'The web page - jobs, live training progress, models, and a pad to draw digits to predict.',
  description:
    'Built by `npm run build:ui` (`npm start` and `npm run build` run it). The page uses relative URLs only, so a proxy may serve it under ' +
    'any path prefix that ends in `/`. Revalidated on every load (`Cache-Control: no-cache` with an `ETag`); gzip when the client accepts it.',
  response: {
    200: { description: 'The page.', content: { 'text/html': { schema: text } } },
    304: notModified,
    503: problemResponse(503, 'The page has not been built.'),
  },
};

const assetSchema = {
  operationId: 'webPageFile',
  summary: "The page's script and stylesheet, and the seed network that prefills its job form.",
  params: AssetParams,
  response: {
    200: {
      description: 'The file.',
      content: { 'text/javascript': { schema: text }, 'text/css': { schema: text }, 'application/json': { schema: Type.Object({}, { additionalProperties: true }) } },
    },
    304: notModified,
    ...problemResponses(400, 404),
    503: problemResponse(503, 'The page has not been built.'),
  },
};

/**
 * The web page: GET / and GET /ui/:file, from what `npm run build:ui` wrote to dist/ui (read once,
 * at start). The page uses relative URLs only, so it works under any path prefix a proxy adds.
 * When it has not been built, both answer 503 saying how to build it; the API is unaffected.
 */
export const uiRoutes: FastifyPluginAsyncTypebox<{ dir?: string }> = async (app, { dir = uiBuildDir }) => {
  const built = await loadAssets(dir);
  if (!built) app.log.warn(`the web page is not built (nothing in ${dir}); run npm run build:ui`);

  app.get('/', { config: { public: true }, schema: pageSchema }, async (request, reply) => {
    if (!built) throw notBuilt();
    return send(request, reply.header('content-security-policy', contentSecurityPolicy).header('referrer-policy', 'no-referrer'), built.page);
  });

  app.get('/ui/:file', { config: { public: true }, schema: assetSchema }, async (request, reply) => {
    const { file } = request.params;
    const asset = built?.assets.get(file);
    if (!asset && !assetSources.some((a) => a.name === file)) throw notFound('page file', file);
    if (!asset) throw notBuilt();
    return send(request, reply, asset);
  });
};

async function loadAssets(dir: string): Promise<{ page: Asset; assets: Map<string, Asset> } | null> {
  try {
    const page = await loadAsset(path.join(dir, 'index.html'), 'text/html; charset=utf-8');
    const assets = new Map(await Promise.all(assetSources.map(async (a) => [a.name, await loadAsset(a.file(dir), a.type)] as const)));
    return { page, assets };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function loadAsset(file: string, type: string): Promise<Asset> {
  const body = await readFile(file);
  return { type, body, gzip: gzipSync(body), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

/** Revalidated on every load (no-cache + ETag): a rebuilt page is picked up at once, an unchanged one costs a 304. */
function send(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  reply.header('etag', asset.etag).header('cache-control', 'no-cache').header('vary', 'accept-encoding').header('x-content-type-options', 'nosniff');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  reply.type(asset.type);
  if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

function notBuilt(): HttpProblem {
  return new HttpProblem(503, 'page-not-built', 'Service Unavailable', 'the web page has not been built; run npm run build:ui (npm start does it)');
}
