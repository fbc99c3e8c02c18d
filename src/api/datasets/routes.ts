import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import sharp from 'sharp';
import { maxSampleClasses, sampleStrip, samplesPerClass } from '../../data/dataset-samples.js';
import { newJobId, isJobId } from '../../queue/ids.js';
import type { DatasetIngestOptions, DatasetRecord } from '../../queue/dataset-records.js';
import { UploadTooLarge } from '../../store/uploads.js';
import { canSee } from '../auth.js';
import { eventSocketRoute } from '../event-socket.js';
import type { Principal } from '../keys.js';
import { linksFor, type LinkTo } from '../links.js';
import { clientErrorProblem, HttpProblem, invalid, notFound } from '../problem.js';
import { timeBodyByIdleness, uploadIdleCode } from '../upload-timeout.js';
import type { Services } from '../services.js';
import { CreateDatasetQuery, Dataset, DatasetEvent, DatasetPage, DatasetParams, ListDatasetsQuery } from '../schemas/datasets.js';
import { authenticatedProblems, jsonResponse, problemResponse, problemResponses } from '../schemas/problem.js';

/** Archive body types taken as they are (streamed to the upload store, never parsed here). */
export const archiveTypes = ['application/zip', 'application/x-zip-compressed', 'application/x-tar', 'application/gzip', 'application/x-gzip'];

/** A dataset as the API shows it, with links to itself and its events. */
export function datasetView(record: DatasetRecord, link: LinkTo) {
  const self = link(`/v1/datasets/${record.id}`);
  const { summary, options: _options, ...rest } = record;
  return { ...rest, description: summary, links: { self, events: `${self}/events`, ...(record.status === 'ready' ? { samples: `${self}/samples.png` } : {}) } };
}

/** A dataset the caller may see, or 404 (also for another tenant's: no existence leak). */
async function visibleDataset(services: Services, principal: Principal, id: string): Promise<DatasetRecord> {
  const record = isJobId(id) ? await services.datasetRecords.get(id) : null;
  if (!record || !canSee(principal, record.tenant)) throw notFound('dataset', id);
  return record;
}

function tooLarge(cap: number): HttpProblem {
  return new HttpProblem(413, 'upload-too-large', 'Payload Too Large', `the archive is larger than ${cap} bytes, the most one upload may send (DATASET_MAX_ARCHIVE_BYTES)`, {}, { connection: 'close' });
}

/** The upload's bytes and the file name it came with: the body itself, or the one file of a multipart form. */
async function uploadedArchive(request: FastifyRequest, cap: number): Promise<{ body: Readable; filename: string | null }> {
  if (!request.isMultipart()) {
    if (!request.body) throw invalid('no archive was sent', [{ path: '(body)', message: `send the archive as the body (Content-Type ${archiveTypes.join(', ')}) or as the one file of a multipart/form-data form` }]);
    return { body: request.body as Readable, filename: null };
  }
  // One byte past the cap reaches the upload store, which refuses it (busboy alone would only truncate).
  const file = await request.file({ limits: { fileSize: cap + 1, files: 1, fields: 0, parts: 1 }, throwFileSizeLimit: false });
  if (!file) throw invalid('the form has no file', [{ path: 'file', message: 'send the archive as the form\'s one file field (curl -F "file=@images.zip")' }]);
  return { body: file.file, filename: file.filename };
}

/** The conversion options from the query, with the image size checked against MAX_IMAGE_SIDE. */
function ingestOptions(query: { imageSize?: string; channels?: 1 | 3; sizeMode?: 'resize' | 'centercrop'; testFraction?: number; seed?: number }, maxSide: number): DatasetIngestOptions {
  const { imageSize, ...rest } = query;
  if (imageSize === undefined) return rest;
  const [height, width] = imageSize.split(',').map(Number) as [number, number];
  if (height > maxSide || width > maxSide) {
    const message = `querystring.imageSize: height and width must be at most ${maxSide} (MAX_IMAGE_SIDE), not ${imageSize}`;
    throw invalid(message, [{ path: 'querystring.imageSize', message }]);
  }
  return { ...rest, imageSize: [height, width] };
}

/** A file name as a dataset name: without its archive extension, at most 100 characters. */
function nameFromFile(filename: string | null): string | null {
  const name = filename?.replace(/\.(zip|tar|tar\.gz|tgz|gz)$/i, '').trim().slice(0, 100);
  return name ? name : null;
}

/**
 * Uploaded datasets: POST streams an archive into the upload store and queues its ingestion on the
 * workers; GET lists and describes them; DELETE removes one (not while it ingests); the events
 * socket follows ingestion.
 */
export const datasetRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { datasets: limits } = services.config;
  const cap = limits.archiveBytes;
  // Scoped to this plugin: only the upload route reads multipart forms.
  await app.register(multipart);
  app.addContentTypeParser(archiveTypes, (_request, payload, done) => done(null, payload));
  // This scope takes archives only: a JSON body is a 415 that names them, not a parsed object.
  app.removeContentTypeParser('application/json');

  const quotaProblem = (tenant: string, limit: 'count' | 'bytes', held: number) =>
    limit === 'count'
      ? new HttpProblem(403, 'quota-exceeded', 'Dataset quota reached', `tenant '${tenant}' keeps ${held} datasets, the most allowed (TENANT_MAX_DATASETS); delete one to upload another`)
      : new HttpProblem(403, 'quota-exceeded', 'Dataset storage quota reached', `tenant '${tenant}' has datasets of ${held} bytes; with this upload they would pass ${limits.bytesPerTenant} bytes (TENANT_MAX_DATASET_BYTES): delete one to upload another`);

  app.post(
    '/v1/datasets',
    {
      schema: {
        operationId: 'createDataset',
        summary: 'Upload a dataset archive; it is ingested on the workers.',
        description:
          `The archive is the body (\`Content-Type\`: ${archiveTypes.map((t) => `\`${t}\``).join(', ')}) or the one file of a \`multipart/form-data\` form. ` +
          'It streams to storage (at most DATASET_MAX_ARCHIVE_BYTES: 413 while it streams, and nothing is kept), then a worker converts it; ' +
          'follow it on `links.events` or poll `links.self` until `ready` or `failed`. The query says how images are converted. ' +
          'The upload may take longer than HTTP_REQUEST_TIMEOUT_MS while its bytes flow; it is cut (408) once none arrive for DATASET_UPLOAD_IDLE_TIMEOUT_MS.',
        querystring: CreateDatasetQuery,
        // Documented per media type, not validated: the route reads the body as a stream.
        body: {
          content: {
            ...Object.fromEntries(archiveTypes.map((type) => [type, { schema: { description: 'the archive\'s bytes' } }])),
            'multipart/form-data': { schema: { description: 'a form whose one file field is the archive' } },
          },
        },
        response: {
          202: { ...jsonResponse(Dataset, 'Stored and queued for ingestion.'), headers: { location: { type: 'string', description: 'the dataset' } } },
          ...problemResponses(400, 408, 413, 415, ...authenticatedProblems),
          403: problemResponse(403, 'The tenant keeps the most datasets allowed (TENANT_MAX_DATASETS) or this upload would pass its bytes (TENANT_MAX_DATASET_BYTES).'),
          503: problemResponse(503, 'Redis is down, or the dataset could not be queued and was not kept: retry it (`Retry-After`).'),
        },
      },
      bodyLimit: cap,
      onRequest: (request, reply, done) => {
        const idle = Object.assign(new Error('the upload went idle'), { code: uploadIdleCode });
        timeBodyByIdleness(request.raw, services.config.datasets.uploadIdleTimeoutMs, (socket) => clientErrorProblem(idle, socket));
        // Its socket keeps the idle limit and may have been spared the request timeout: used for no other request.
        void reply.header('connection', 'close');
        done();
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      const tenant = principal.tenant;
      const options = ingestOptions(request.query, services.config.networkLimits.maxImageSide);
      const declared = Number(request.headers['content-length'] ?? 0);
      if (declared > cap + (request.isMultipart() ? 64 * 1024 : 0)) throw tooLarge(cap);
      // Checked before the upload too, so a tenant over quota is told at once, not after sending gigabytes.
      const usage = await services.datasetRecords.usage(tenant);
      if (usage.count >= limits.perTenant) throw quotaProblem(tenant, 'count', usage.count);
      if (usage.bytes >= limits.bytesPerTenant) throw quotaProblem(tenant, 'bytes', usage.bytes);

      const id = newJobId();
      const { body, filename } = await uploadedArchive(request, cap);
      let uploadBytes: number;
      try {
        uploadBytes = await services.uploads.put(id, body, cap);
      } catch (err) {
        if (err instanceof UploadTooLarge) throw tooLarge(cap);
        throw err;
      }
      const discard = () => services.uploads.delete(id).catch((err: Error) => request.log.warn({ datasetId: id, err: err.message }, 'upload not deleted'));
      if (uploadBytes === 0) {
        await discard();
        throw invalid('the upload is empty', [{ path: '(body)', message: 'send the archive (zip, tar or tar.gz) as the body or as the form\'s file' }]);
      }
      const created = await services.datasetRecords
        .create({ id, tenant, name: request.query.name ?? nameFromFile(filename) ?? id, createdAt: new Date().toISOString(), uploadBytes, options }, { count: limits.perTenant, bytes: limits.bytesPerTenant })
        .catch(async (err: unknown) => {
          await discard();
          throw err;
        });
      if (!created.ok) {
        await discard();
        throw quotaProblem(tenant, created.limit, created.held);
      }
      try {
        await services.ingestion.add(id);
      } catch (err) {
        request.log.warn({ datasetId: id, err: (err as Error).message }, 'dataset not queued');
        await services.datasetRecords.remove(id, ['ingesting']).catch(() => {});
        await discard();
        throw new HttpProblem(503, 'queue-unavailable', 'Service Unavailable', 'the dataset could not be queued and was not kept; upload it again', {}, { 'retry-after': '5' });
      }
      request.log.info({ datasetId: id, tenant, uploadBytes }, 'dataset uploaded');
      const link = linksFor(request);
      return reply.code(202).header('location', link(`/v1/datasets/${id}`)).send(datasetView(created.record, link));
    },
  );

  app.get(
    '/v1/datasets',
    {
      schema: {
        operationId: 'listDatasets',
        summary: 'Uploaded datasets, newest first.',
        querystring: ListDatasetsQuery,
        response: { 200: jsonResponse(DatasetPage, 'A page of datasets.'), ...problemResponses(400, ...authenticatedProblems) },
      },
    },
    async (request) => {
      const principal = request.principal!;
      const { limit = 20, cursor } = request.query;
      if (cursor !== undefined && !isJobId(cursor)) throw invalid('cursor is not a dataset id', [{ path: 'querystring.cursor', message: 'cursor must be the nextCursor of a previous page' }]);
      const page = await services.datasetRecords.list({ ...(principal.admin ? {} : { tenant: principal.tenant }), limit, ...(cursor ? { cursor } : {}) });
      const link = linksFor(request);
      return { datasets: page.datasets.map((d) => datasetView(d, link)), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/datasets/:id',
    {
      schema: {
        operationId: 'getDataset',
        summary: "A dataset's status and, once ready, what it holds.",
        params: DatasetParams,
        response: { 200: jsonResponse(Dataset, 'The dataset.'), ...problemResponses(404, ...authenticatedProblems) },
      },
    },
    async (request) => datasetView(await visibleDataset(services, request.principal!, request.params.id), linksFor(request)),
  );

  app.delete(
    '/v1/datasets/:id',
    {
      schema: {
        operationId: 'deleteDataset',
        summary: 'Delete a dataset.',
        description:
          'A ready or failed dataset is deleted with its stored images (204). One still ingesting cannot be deleted (409): wait for it to end. ' +
          "Models trained on it keep working: their manifests keep the class names and image size.",
        params: DatasetParams,
        response: { 204: Type.Null({ description: 'Deleted.' }), ...problemResponses(404, 409, ...authenticatedProblems) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await visibleDataset(services, request.principal!, id);
      const removed = await services.datasetRecords.remove(id, ['ready', 'failed']);
      if (!removed.ok) {
        if (removed.current === null) throw notFound('dataset', id);
        throw new HttpProblem(409, 'dataset-ingesting', 'Conflict', `dataset '${id}' is still being ingested; delete it once it is ready or failed`, { datasetStatus: removed.current });
      }
      // The record is gone first: nothing points at the stored set while it is removed.
      await services.storedDatasets.delete(id);
      request.log.info({ datasetId: id }, 'dataset deleted');
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/datasets/:id/samples.png',
    {
      schema: {
        operationId: 'getDatasetSamples',
        summary: 'A few training images of each class, one row of tiles per class.',
        description:
          `Up to ${samplesPerClass} training images of each of the first classes (at most ${maxSampleClasses}, fewer for large images: 4 Mi pixels in all), ` +
          "each row in the order of the description's `classes`, tiles of the stored size left to right. `X-Sample-Counts` says how many tiles each row holds " +
          '(a class with few images may have fewer than the rest). Read from the first few stored shards; the answer of a ready dataset never changes.',
        params: DatasetParams,
        response: {
          200: {
            description: 'A PNG strip.',
            headers: { 'x-sample-counts': { type: 'string', description: 'tiles in each row, comma-separated, one row per class from the first' } },
            content: { 'image/png': { schema: Type.Unsafe<unknown>({ type: 'string', format: 'binary' }) } },
          },
          ...problemResponses(404, 409, ...authenticatedProblems),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const record = await visibleDataset(services, request.principal!, id);
      if (record.status !== 'ready') throw new HttpProblem(409, 'dataset-not-ready', 'Conflict', `dataset '${id}' is ${record.status}: its images can be shown once it is ready`, { datasetStatus: record.status });
      const manifest = await services.storedDatasets.manifest(id);
      if (!manifest) throw notFound('dataset', id);
      const strip = await sampleStrip(manifest, (name) => services.storedDatasets.stream(id, name));
      // sharp encodes on libuv's threads: a strip of large colour images does not hold the event loop.
      const image = sharp(strip.pixels, { raw: { width: strip.width, height: strip.height, channels: strip.channels as 1 | 3 } });
      const png = await (strip.channels === 1 ? image.toColourspace('b-w') : image).png().toBuffer();
      return reply.type('image/png').header('x-sample-counts', strip.counts.join(',')).header('cache-control', 'private, max-age=86400, immutable').send(png);
    },
  );

  eventSocketRoute(app, services, {
    what: 'dataset',
    url: '/v1/datasets/:id/events',
    operationId: 'datasetEvents',
    params: DatasetParams,
    event: DatasetEvent,
    terminal: '`ready` or `failed`',
    owner: async (id) => (isJobId(id) ? ((await services.datasetRecords.get(id))?.tenant ?? null) : null),
    follow: (id, since, signal) => services.datasetEvents.follow(services.follower, id, since, signal),
  });
};
