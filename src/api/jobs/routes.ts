import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { builtInDatasets, builtInShapes, resolveDatasetRef } from '../../data/catalog.js';
import { validateTrainingOptions } from '../../nn/options.js';
import type { Problem } from '../../nn/problems.js';
import { problemsWithData, validateNetwork } from '../../nn/spec.js';
import { isJobId } from '../../queue/ids.js';
import type { JobRecord, JobRequest } from '../../queue/jobs.js';
import { HttpProblem, invalid, notFound } from '../problem.js';
import type { Services } from '../services.js';
import { CreateJobBody, CreateJobHeaders, JobParams, ListJobsQuery } from './schemas.js';

export function jobView(record: JobRecord) {
  const self = `/v1/jobs/${record.id}`;
  return { ...record, links: { self, events: `${self}/events`, model: `/v1/models/${record.id}` } };
}

/** Every problem with the submitted network, options and dataset, with paths from the body's root. */
export function requestProblems(services: Services, body: JobRequest): Problem[] {
  const { networkLimits, optionLimits } = services.config;
  const problems: Problem[] = [];
  const network = validateNetwork(body.network, networkLimits);
  const prefixed = (p: Problem) => ({ path: p.path ? `network.${p.path}` : 'network', message: p.message });
  if (!network.ok) problems.push(...network.problems.map(prefixed));
  const options = validateTrainingOptions(body.options, optionLimits);
  if (!options.ok) problems.push(...options.problems);
  const dataset = resolveDatasetRef(body.dataset);
  if (!dataset) {
    const id = typeof body.dataset === 'string' ? body.dataset : body.dataset.id;
    const path = typeof body.dataset === 'string' ? 'dataset' : 'dataset.id';
    problems.push({ path, message: `${path}: dataset ${JSON.stringify(id)} does not exist (built-in datasets: ${builtInDatasets.join(', ')})` });
  } else if (network.ok) {
    const shape = builtInShapes[dataset.name];
    problems.push(...problemsWithData(network.value, shape.size, shape.classes, dataset.name).map(prefixed));
  }
  return problems;
}

export const jobRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.post('/v1/jobs', { schema: { body: CreateJobBody, headers: CreateJobHeaders } }, async (request, reply) => {
    const body = request.body as JobRequest;
    const problems = requestProblems(services, body);
    if (problems.length > 0) throw invalid(`the job request has ${problems.length} problem${problems.length > 1 ? 's' : ''}`, problems);
    const result = await services.queue.submit(body, request.headers['idempotency-key']);
    if ('conflict' in result) {
      throw new HttpProblem(422, 'idempotency-key-reused', 'Idempotency key reused', 'this Idempotency-Key was used for a different request');
    }
    request.log.info({ jobId: result.record.id, created: result.created }, 'job submitted');
    return reply.code(202).header('location', `/v1/jobs/${result.record.id}`).send(jobView(result.record));
  });

  app.get('/v1/jobs', { schema: { querystring: ListJobsQuery } }, async (request) => {
    const { status, limit = 20, cursor } = request.query;
    if (cursor !== undefined && !isJobId(cursor)) throw invalid('cursor is not a job id', [{ path: 'querystring.cursor', message: 'cursor must be the nextCursor of a previous page' }]);
    const page = await services.catalogue.list({ ...(status ? { status } : {}), limit, ...(cursor ? { cursor } : {}) });
    return { jobs: page.jobs.map(jobView), nextCursor: page.nextCursor };
  });

  app.get('/v1/jobs/:id', { schema: { params: JobParams } }, async (request) => {
    const record = isJobId(request.params.id) ? await services.catalogue.get(request.params.id) : null;
    if (!record) throw notFound('job', request.params.id);
    return jobView(record);
  });

  app.delete('/v1/jobs/:id', { schema: { params: JobParams } }, async (request, reply) => {
    const { id } = request.params;
    const result = isJobId(id) ? await services.queue.cancel(id) : ({ outcome: 'not-found' } as const);
    switch (result.outcome) {
      case 'not-found':
        throw notFound('job', id);
      case 'finished':
        throw new HttpProblem(409, 'job-finished', 'Conflict', `job '${id}' has already ${result.record.status === 'cancelled' ? 'been cancelled' : result.record.status}`, {
          jobStatus: result.record.status,
        });
      case 'cancelled':
        return jobView(result.record);
      case 'requested':
        return reply.code(202).send(jobView(result.record));
    }
  });
};
