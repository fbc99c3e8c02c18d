import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ModelUnreadable, type ModelManifest } from '../../store/models.js';
import { canSee } from '../auth.js';
import { linksFor, type LinkTo } from '../links.js';
import type { Principal } from '../keys.js';
import { HttpProblem, notFound } from '../problem.js';
import type { Services } from '../services.js';
import { jsonInput, pngInput, predictions } from './predict.js';
import { ModelFileParams, ModelParams, predictBody } from './schemas.js';

function modelView(manifest: ModelManifest, link: LinkTo) {
  const self = link(`/v1/models/${manifest.id}`);
  return {
    ...manifest,
    links: {
      self,
      predict: `${self}/predict`,
      files: Object.fromEntries(manifest.files.map((f) => [f, `${self}/files/${f}`])),
      ...(manifest.jobId ? { job: link(`/v1/jobs/${manifest.jobId}`) } : {}),
    },
  };
}

function summary(manifest: ModelManifest, link: LinkTo) {
  const { network: _network, training, ...rest } = manifest;
  return { ...rest, backend: training.backend.name, links: { self: link(`/v1/models/${manifest.id}`) } };
}

const fileTypes = new Map([
  ['model.json', 'application/json'],
  ['weights.bin', 'application/octet-stream'],
]);

/** A model whose files are missing or corrupt is a state for its owner to resolve (delete it), not a server error. */
async function readable<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof ModelUnreadable) throw new HttpProblem(409, 'model-unreadable', 'Model unreadable', err.message);
    throw err;
  }
}

export const modelRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { models, modelCache, config } = services;

  /** The manifest of a model the caller may see, or 404 (also for another tenant's: no existence leak). */
  async function visibleModel(principal: Principal, id: string): Promise<ModelManifest> {
    const manifest = await readable(models.manifest(id));
    if (!manifest || !canSee(principal, manifest.tenant)) throw notFound('model', id);
    return manifest;
  }

  app.get('/v1/models', async (request) => ({
    models: (await models.list()).filter((m) => canSee(request.principal!, m.tenant)).map((m) => summary(m, linksFor(request))),
  }));

  app.get('/v1/models/:id', { schema: { params: ModelParams } }, async (request) => modelView(await visibleModel(request.principal!, request.params.id), linksFor(request)));

  app.delete('/v1/models/:id', { schema: { params: ModelParams } }, async (request, reply) => {
    await visibleModel(request.principal!, request.params.id);
    modelCache.evict(request.params.id);
    if (!(await models.delete(request.params.id))) throw notFound('model', request.params.id);
    return reply.code(204).send();
  });

  app.get('/v1/models/:id/files/:file', { schema: { params: ModelFileParams } }, async (request, reply) => {
    const { id, file } = request.params;
    await visibleModel(request.principal!, id);
    const found = await models.file(id, file);
    if (!found) throw notFound('model file', `${id}/${file}`);
    return reply
      .type(fileTypes.get(file) ?? 'application/octet-stream')
      .header('content-length', found.size)
      .send(found.body);
  });

  // Each body type keeps its own limit: a route-wide bodyLimit would override both parsers' limits.
  // This scope is encapsulated, so its parsers serve predict only.
  await app.register(async (scope) => {
    const predict = scope.withTypeProvider<TypeBoxTypeProvider>();
    predict.addContentTypeParser('image/png', { parseAs: 'buffer', bodyLimit: config.limits.pngBodyBytes }, (_request, body, done) => done(null, body));
    predict.removeContentTypeParser('application/json');
    predict.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: config.limits.predictBodyBytes }, predict.getDefaultJsonParser('error', 'error'));

    predict.post('/v1/models/:id/predict', { schema: { params: ModelParams, body: predictBody(config.predict.maxInstances) } }, async (request) => {
      await visibleModel(request.principal!, request.params.id);
      const loaded = await readable(modelCache.get(request.params.id));
      if (!loaded) throw notFound('model', request.params.id);
      const { classifier, manifest } = loaded;
      const input = Buffer.isBuffer(request.body)
        ? await pngInput(request.body, manifest, config.limits.imagePixels)
        : jsonInput(request.body as { instances: unknown[]; scale?: number }, manifest);
      return predictions(classifier, manifest, input);
    });
  });
};
