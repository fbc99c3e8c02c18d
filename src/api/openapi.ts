import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { projectRoot } from '../paths.js';

export const openapiPath = path.join(projectRoot, 'openapi.yaml');

/** GET /openapi.yaml: the API's description, the same file that sits at the repository's root. */
export const openapiRoute: FastifyPluginAsync = async (app) => {
  const document = await readFile(openapiPath, 'utf8');
  app.get('/openapi.yaml', { config: { public: true } }, async (_request, reply) => reply.type('application/yaml').send(document));
};
