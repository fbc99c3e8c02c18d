import { createReadStream } from 'node:fs';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { decodePng } from '../../data/png.js';
import type { Classifier } from '../../nn/classifier.js';
import type { ModelManifest } from '../../store/models.js';
import { canSee } from '../auth.js';
import type { Principal } from '../keys.js';
import { HttpProblem, invalid, notFound } from '../problem.js';
import type { Services } from '../services.js';
import { readInstances } from './instances.js';
import { ModelFileParams, ModelParams, predictBody } from './schemas.js';

function modelView(manifest: ModelManifest) {
  const self = `/v1/models/${manifest.id}`;
  return {
    ...manifest,
    links: {
      self,
      predict: `${self}/predict`,
      files: Object.fromEntries(manifest.files.map((f) => [f, `${self}/files/${f}`])),
      ...(manifest.jobId ? { job: `/v1/jobs/${manifest.jobId}` } : {}),
    },
  };
}

function summary(manifest: ModelManifest) {
  const { network: _network, training, ...rest } = manifest;
  return { ...rest, backend: training.backend.name, links: { self: `/v1/models/${manifest.id}` } };
}

const fileTypes = new Map([
  ['model.json', 'application/json'],
  ['weights.bin', 'application/octet-stream'],
]);

export const modelRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { models, modelCache, config } = services;

  /** The manifest of a model the caller may see, or 404 (also for another tenant's: no existence leak). */
  async function visibleModel(principal: Principal, id: string): Promise<ModelManifest> {
    const manifest = await models.manifest(id);
    if (!manifest || !canSee(principal, manifest.tenant)) throw notFound('model', id);
    return manifest;
  }

  app.addContentTypeParser('image/png', { parseAs: 'buffer', bodyLimit: config.limits.pngBodyBytes }, (_request, body, done) => done(null, body));

  app.get('/v1/models', async (request) => ({
    models: (await models.list()).filter((m) => canSee(request.principal!, m.tenant)).map(summary),
  }));

  app.get('/v1/models/:id', { schema: { params: ModelParams } }, async (request) => modelView(await visibleModel(request.principal!, request.params.id)));

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
    return reply.type(fileTypes.get(file) ?? 'application/octet-stream').send(createReadStream(found));
  });

  app.post(
    '/v1/models/:id/predict',
    { schema: { params: ModelParams, body: predictBody(config.predict.maxInstances) }, bodyLimit: Math.max(config.limits.predictBodyBytes, config.limits.pngBodyBytes) },
    async (request) => {
    await visibleModel(request.principal!, request.params.id);
    const loaded = await modelCache.get(request.params.id);
    if (!loaded) throw notFound('model', request.params.id);
    const { classifier, manifest } = loaded;
    const [h, w, c] = manifest.inputSize;
    let pixels: Float32Array;
    let count: number;
    if (Buffer.isBuffer(request.body)) {
      pixels = pngPixels(request.body, manifest);
      count = 1;
    } else {
      const body = request.body as { instances: unknown[] };
      const read = readInstances(body.instances, [h, w, c]);
      if (read.problems.length > 0) throw invalid(`${read.problems.length} instance(s) do not have the model's input shape ${h}x${w}x${c}`, read.problems);
      pixels = read.pixels;
      count = body.instances.length;
    }
    return { modelId: manifest.id, predictions: await predictions(classifier, pixels, count) };
    },
  );
};

function pngPixels(buffer: Buffer, manifest: ModelManifest): Float32Array {
  const [h, w, c] = manifest.inputSize;
  if (c !== 1 && c !== 3) throw new HttpProblem(415, 'unsupported-media-type', 'Unsupported Media Type', `a PNG can feed a model of 1 or 3 channels; this one takes ${c}`);
  let image;
  try {
    image = decodePng(buffer, c);
  } catch (err) {
    throw invalid('the body is not a readable PNG image', [{ path: 'body', message: `body: not a PNG image (${(err as Error).message})` }]);
  }
  if (image.width !== w || image.height !== h) {
    throw invalid(`the image is ${image.width}x${image.height}; this model takes ${w}x${h} (width x height)`, [
      { path: 'body', message: `body: expected a ${w}x${h} PNG, got ${image.width}x${image.height}` },
    ]);
  }
  return image.pixels;
}

async function predictions(classifier: Classifier, pixels: Float32Array, count: number) {
  const probs = await classifier.predict(pixels, count);
  const k = classifier.classes.length;
  return Array.from({ length: count }, (_, i) => {
    const row = probs.subarray(i * k, (i + 1) * k);
    let best = 0;
    for (let j = 1; j < k; j++) if (row[j]! > row[best]!) best = j;
    return { label: classifier.classes[best]!, probabilities: Object.fromEntries(classifier.classes.map((name, j) => [name, row[j]!])) };
  });
}
