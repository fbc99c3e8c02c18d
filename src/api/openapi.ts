import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import path from 'node:path';
import YAML from 'yaml';
import { projectRoot } from '../paths.js';
import { component } from './schemas/component.js';

/** The committed document, generated from the routes by `npm run openapi` and checked against them by test/api/openapi.test.ts. */
export const openapiPath = path.join(projectRoot, 'openapi.yaml');

const description = `Submit a network definition and training options, watch the job train over a WebSocket, and
predict with the trained model. Every error is an RFC 9457 problem (application/problem+json)
naming each field that is wrong (paths from the body's root: \`network.layers[3]\`, \`name\`;
\`querystring.\`/\`params.\` for the others), whoever raised it: besides the statuses listed per
operation, any route may answer 404 (no such route), 408 (the request did not arrive within
HTTP_REQUEST_TIMEOUT_MS), 414 (a path segment longer than any id), 415 (naming the types the
route takes), 429 (rate limit) and, while Redis is down, 503 with \`Retry-After\` at once.
Links and \`Location\` are absolute paths (\`/v1/...\`), prefixed with \`X-Forwarded-Prefix\` when
that header holds a plain path (segments of letters, digits and \`-._~\`, no \`..\`).

This document is generated from the routes' schemas (\`npm run openapi\`).
`;

const bearerDescription = `\`Authorization: Bearer <key>\` on every /v1 request when the server has keys (API_KEYS,
API_KEYS_FILE). Without keys the server listens on loopback only and needs none. Another
tenant's jobs and models answer 404. The events WebSocket also takes the key as a
\`trainyard.key.<key>\` subprotocol offered beside \`trainyard.v1\`, or as a first message
\`{"type": "auth", "key": "<key>"}\` within 5 seconds (else it closes with 4401).
`;

/**
 * Collects every route's schema from here on (register it before the routes): the document then
 * says what the routes validate and serialize, from the same TypeBox schemas. A route declared
 * public (`config.public`, what authentication decides on) is documented with `security: []`.
 */
export async function describeRoutes(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'trainyard', version: '0.1.0', summary: 'Training as a service for image classifiers defined as MATLAB-style layer lists.', description },
      servers: [{ url: 'http://127.0.0.1:3000' }],
      security: [{ apiKey: [] }],
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: bearerDescription } } },
    },
    transform: ({ schema, url, route }) => ({
      schema: {
        ...schema,
        // @fastify/websocket hides its routes from the document; the events stream is part of the API.
        ...(route.websocket ? { hide: false } : {}),
        ...((route.config as { public?: boolean } | undefined)?.public === true ? { security: [] } : {}),
      },
      url,
    }),
  });
}

type OpenapiDocument = { components?: { schemas?: Record<string, unknown> } } & Record<string, unknown>;

/**
 * The document with each shared schema (those src/api/schemas names with the `component`
 * keyword: Job, Problem, Model...) written once under components.schemas and referenced where a
 * route uses it; inline, the Problem schema alone would repeat for every status of every route.
 */
function withComponents(document: OpenapiDocument): OpenapiDocument {
  const shared = new Map<string, { schema: unknown; text: string }>();
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== 'object') return node;
    const { [component]: name, ...schema } = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, visit(value)])) as Record<string, unknown>;
    if (typeof name !== 'string') return schema;
    const text = JSON.stringify(schema);
    const seen = shared.get(name);
    // One name, one schema: two shapes under one name would make the document lie about one of them.
    if (seen && seen.text !== text) throw new Error(`two different schemas are named ${name} in the OpenAPI document`);
    shared.set(name, { schema, text });
    return { $ref: `#/components/schemas/${name}` };
  };
  const { components = {}, ...rest } = document;
  const paths = visit(rest) as OpenapiDocument;
  const schemas = [...shared].sort(([a], [b]) => a.localeCompare(b)).map(([name, { schema }]) => [name, schema] as const);
  return { ...paths, components: { ...components, schemas: { ...components.schemas, ...Object.fromEntries(schemas) } } };
}

/**
 * The document as YAML. Arrays of plain values are written on one line (the predict example is a
 * 28x28 image), so the file reads like the hand-written one it replaced.
 */
export function openapiYaml(app: FastifyInstance): string {
  const document = new YAML.Document(withComponents(app.swagger() as unknown as OpenapiDocument));
  YAML.visit(document, {
    Seq(_key, node) {
      if (node.items.every((item) => YAML.isScalar(item))) node.flow = true;
    },
  });
  return document.toString({ lineWidth: 0 });
}

/** GET /openapi.yaml: the document of the routes this process serves (with its own limits). */
export const openapiRoute: FastifyPluginAsync = async (app) => {
  let document: string | null = null;
  app.get(
    '/openapi.yaml',
    {
      config: { public: true },
      schema: {
        operationId: 'openapi',
        summary: 'This document.',
        produces: ['application/yaml'],
        response: { 200: { description: 'The OpenAPI document.', content: { 'application/yaml': { schema: { type: 'string' } } } } },
      },
    },
    async (_request, reply) => reply.type('application/yaml').send((document ??= openapiYaml(app))),
  );
};
