import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ModelUnreadable, type ModelManifest } from '../../store/models.js';
import { canSee } from '../auth.js';
import { linksFor, type LinkTo } from '../links.js';
import type { Principal } from '../keys.js';
import { HttpProblem, notFound } from '../problem.js';
import type { Services } from '../services.js';
import { useJsonBodyParser } from '../json-body.js';
import { imageInput, jsonInput, predictions } from './predict.js';
import { Model, ModelFileParams, ModelList, ModelParams, predictBody, Predictions } from '../schemas/models.js';
import { authenticatedProblems, jsonResponse, problemResponses } from '../schemas/problem.js';

function modelView(manifest: ModelManifest, link: LinkTo) {
  const self = link(`/v1/models/${manifest.id}`);
  return {
    ...manifest,
    // Saved from the validated trainingOptions: always an object.
    training: { ...manifest.training, options: manifest.training.options as Record<string, unknown> },
    links: {
      self,
      predict: `${self}/predict`,
      files: Object.fromEntries(manifest.files.map((f) => [f, `${self}/files/${f}`])),
      ...(manifest.jobId ? { job: link(`/v1/jobs/${manifest.jobId}`) } : {}),
      ...(manifest.evaluation?.misclassified.sprite ? { misclassified: `${self}/misclassified.png` } : {}),
      ...(manifest.lineage?.initialModel ? { initialModel: link(`/v1/models/${manifest.lineage.initialModel.id}`) } : {}),
    },
  };
}

function summary(manifest: ModelManifest, link: LinkTo) {
  const { network: _network, training, evaluation: _evaluation, ...rest } = manifest;
  return { ...rest, backend: training.backend.name, links: { self: link(`/v1/models/${manifest.id}`) } };
}

const predictDescription = `JSON: \`{"instances": [...], "scale"?: number}\`, each image as nested \`[h][w][c]\` arrays,
\`[h][w]\` for one channel, or \`h*w*c\` numbers (row-major, channels last), values as the
training data (digits: 0 to 1). Values outside the training images' range (the model's
\`inputStatistics\`) are a 400 naming the instance and the range; \`"scale": 255\` divides
every value by 255 first (for 0-255 pixels). Or a raw \`image/png\` or \`image/jpeg\` body
(at most PNG_BODY_LIMIT_BYTES): one grey or colour image of any size, converted as the
model's dataset's images were (resized, or centre-cropped, to the input size; grey or colour
to its channels; alpha dropped), scaled to 0..1; its header is checked before
decoding (more than MAX_IMAGE_PIXELS pixels, or not an image: 400). Images must look like the training images
(digits: white on black): each prediction carries \`warnings\` when its image does not
(background on the other side, mean brightness far off), and \`input\` says what the
network was fed. Models saved before statistics were recorded skip the range check and
the warnings.`;

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

  app.get(
    '/v1/models',
    { schema: { operationId: 'listModels', summary: 'Trained models, newest first.', response: { 200: jsonResponse(ModelList, 'Model summaries.'), ...problemResponses(...authenticatedProblems) } } },
    async (request) => ({
      models: (await models.list()).filter((m) => canSee(request.principal!, m.tenant)).map((m) => summary(m, linksFor(request))),
    }),
  );

  app.get(
    '/v1/models/:id',
    {
      schema: {
        operationId: 'getModel',
        summary: "A model's manifest.",
        params: ModelParams,
        response: { 200: jsonResponse(Model, 'The manifest, with links to its files and predict.'), ...problemResponses(400, 404, 409, ...authenticatedProblems) },
      },
    },
    async (request) => modelView(await visibleModel(request.principal!, request.params.id), linksFor(request)),
  );

  app.delete(
    '/v1/models/:id',
    {
      schema: {
        operationId: 'deleteModel',
        summary: 'Delete a model.',
        params: ModelParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...problemResponses(400, 404, 409, ...authenticatedProblems) },
      },
    },
    async (request, reply) => {
      await visibleModel(request.principal!, request.params.id);
      modelCache.evict(request.params.id);
      if (!(await models.delete(request.params.id))) throw notFound('model', request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/models/:id/files/:file',
    {
      schema: {
        operationId: 'getModelFile',
        summary: "The model in tfjs's layers-model format.",
        description:
          "`tf.loadLayersModel('<base>/v1/models/<id>/files/model.json')` loads it in TensorFlow.js, after registering the layer classes " +
          "listed in model.json's `userDefinedMetadata.customLayers`.",
        params: ModelFileParams,
        response: {
          200: {
            description: 'The file (streamed as stored: never re-serialized).',
            content: { 'application/json': { schema: Type.Object({}, { additionalProperties: true }) }, 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } },
          },
          ...problemResponses(400, 404, 409, ...authenticatedProblems),
        },
      },
    },
    async (request, reply) => {
      const { id, file } = request.params;
      await visibleModel(request.principal!, id);
      const found = await models.file(id, file);
      if (!found) throw notFound('model file', `${id}/${file}`);
      return reply
        .type(fileTypes.get(file) ?? 'application/octet-stream')
        .header('content-length', found.size)
        .send(found.body);
    },
  );

  app.get(
    '/v1/models/:id/misclassified.png',
    {
      schema: {
        operationId: 'getMisclassifiedImages',
        summary: 'Misclassified test images, one row of tiles per true class.',
        description: "Where each image is and what it was taken for: the model's `evaluation.misclassified.examples`.",
        params: ModelParams,
        response: {
          200: { description: 'A PNG sprite.', content: { 'image/png': { schema: Type.Unsafe<unknown>({ type: 'string', format: 'binary' }) } } },
          ...problemResponses(400, 404, 409, ...authenticatedProblems),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await visibleModel(request.principal!, id);
      const found = await models.misclassifiedImages(id);
      if (!found) throw notFound('misclassified images of model', id);
      return reply.type('image/png').header('content-length', found.size).send(found.body);
    },
  );

  // Each body type keeps its own limit: a route-wide bodyLimit would override both parsers' limits.
  // This scope is encapsulated, so its parsers serve predict only.
  await app.register(async (scope) => {
    const predict = scope.withTypeProvider<TypeBoxTypeProvider>();
    predict.addContentTypeParser(['image/png', 'image/jpeg'], { parseAs: 'buffer', bodyLimit: config.limits.pngBodyBytes }, (_request, body, done) => done(null, body));
    useJsonBodyParser(predict, config.limits.predictBodyBytes);

    const schema = {
      operationId: 'predict',
      summary: 'Classify images.',
      description: predictDescription,
      params: ModelParams,
      body: predictBody(config.predict.maxInstances),
      response: { 200: jsonResponse(Predictions, 'One prediction per image.'), ...problemResponses(400, 404, 409, 413, 415, ...authenticatedProblems) },
    };
    predict.post('/v1/models/:id/predict', { schema }, async (request) => {
      await visibleModel(request.principal!, request.params.id);
      const loaded = await readable(modelCache.get(request.params.id));
      if (!loaded) throw notFound('model', request.params.id);
      const { classifier, manifest } = loaded;
      // Decoding and inference: what a caller waits for once the model is loaded.
      const timer = services.metrics.predictDuration.startTimer();
      const input = Buffer.isBuffer(request.body)
        ? await imageInput(request.body, request.headers['content-type']?.startsWith('image/jpeg') ? 'jpeg' : 'png', manifest, config.limits.imagePixels)
        : await jsonInput(request.body as { instances: unknown[]; scale?: number }, manifest);
      const result = await predictions(classifier, manifest, input);
      timer();
      services.metrics.predictBatch.observe(input.count);
      return result;
    });
  });
};
