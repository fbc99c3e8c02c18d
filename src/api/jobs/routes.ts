import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Problem } from '../../nn/problems.js';
import { dataShape, trainingRequestProblemsInThread, validateTrainingRequest, type DataShape, type ValidationConfig } from '../../run/training-request.js';
import { validatesOffTheLoop } from '../../nn/validate-off-loop.js';
import { admitInitialModel } from '../../run/initial-model.js';
import { isJobId } from '../../queue/ids.js';
import type { CancelResult, PauseResult, ResumeResult } from '../../queue/training-queue.js';
import type { JobRecord, JobRequest } from '../../queue/jobs.js';
import { canSee } from '../auth.js';
import { linksFor, type LinkTo } from '../links.js';
import type { Principal } from '../keys.js';
import { HttpProblem, invalid, notFound } from '../problem.js';
import type { Services } from '../services.js';
import { CreateJobHeaders, Job, JobNetwork, JobPage, JobParams, JobRequest as JobRequestBody, ListJobsQuery } from '../schemas/jobs.js';
import { authenticatedProblems, jsonResponse, problemResponse, problemResponses } from '../schemas/problem.js';

/** A job with links to itself, its events and, once it completed, its model (only what exists). */
export function jobView(record: JobRecord, link: LinkTo) {
  const self = link(`/v1/jobs/${record.id}`);
  const model = record.status === 'completed' && record.modelId ? { model: link(`/v1/models/${record.modelId}`) } : {};
  return { ...record, links: { self, events: `${self}/events`, ...model } };
}

/**
 * Every problem with the submitted request: the dataset's, then the engine's validator (the
 * worker's too) with the dataset's image size and classes.
 */
export async function requestProblems(services: Services, body: JobRequest, tenant: string): Promise<Problem[]> {
  const dataset = await services.datasets.describe(body.dataset, tenant);
  const shape = 'problem' in dataset ? null : dataShape(dataset.name, dataset.description);
  const problems = await trainingRequestProblems(body, shape, services.config);
  return 'problem' in dataset ? [...problems, dataset.problem] : problems;
}

function trainingRequestProblems(body: JobRequest, shape: DataShape | null, config: ValidationConfig): Promise<Problem[]> {
  if (validatesOffTheLoop(body.network)) return trainingRequestProblemsInThread(body, shape, config);
  const validated = validateTrainingRequest(body, shape, config);
  return Promise.resolve(validated.ok ? [] : validated.problems);
}

/** The 409 for an action on a job that has ended, saying how it ended. */
function finished(id: string, record: JobRecord, action: 'cancelled' | 'paused' | 'resumed'): HttpProblem {
  const ended = record.status === 'cancelled' ? 'been cancelled' : record.status;
  return new HttpProblem(409, 'job-finished', 'Conflict', `job '${id}' has already ${ended}; a finished job cannot be ${action}`, { jobStatus: record.status });
}

/**
 * A cancel, pause or resume of a job the caller may see, answered by its outcome: 202 for what a
 * worker or the queue now carries out (a stop asked of a running job, a job queued again), 200
 * for what was already so or was done at once, 404 and 409 for what cannot be.
 */
async function answerAction(
  services: Services,
  { request, reply, id }: { request: FastifyRequest; reply: FastifyReply; id: string },
  action: 'cancelled' | 'paused' | 'resumed',
  act: (id: string) => Promise<CancelResult | PauseResult | ResumeResult>,
): Promise<ReturnType<typeof jobView>> {
  await visibleJob(services, request.principal!, id);
  const result = await act(id);
  switch (result.outcome) {
    case 'not-found':
      throw notFound('job', id);
    case 'finished':
      throw finished(id, result.record, action);
    case 'pausing':
      throw new HttpProblem(409, 'job-pausing', 'Conflict', `job '${id}' is being paused (it checkpoints within one iteration); resume it once its status is paused`, {
        jobStatus: result.record.status,
      });
    case 'requested':
    case 'resumed':
      reply.code(202);
      return jobView(result.record, linksFor(request));
    default:
      return jobView(result.record, linksFor(request));
  }
}

/** A job the caller may see, or 404 (also for another tenant's job: no existence leak). */
export async function visibleJob(services: Services, principal: Principal, id: string): Promise<JobRecord> {
  const record = isJobId(id) ? await services.catalogue.get(id) : null;
  if (!record || !canSee(principal, record.tenant)) throw notFound('job', id);
  return record;
}

export const jobRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { limits } = services.config;

  app.post(
    '/v1/jobs',
    {
      schema: {
        operationId: 'createJob',
        summary: 'Validate and queue a training job.',
        description:
          'The network, options and dataset are validated before anything is queued; a 400 lists every problem with its path ' +
          '(e.g. `network.layers[3].numChannels`). With an `Idempotency-Key` header a repeated request returns the job the first one created (for 24 hours).',
        body: JobRequestBody,
        headers: CreateJobHeaders,
        response: {
          202: {
            ...jsonResponse(Job, 'Queued (or, for a repeated Idempotency-Key, the job the first request created).'),
            headers: { location: { type: 'string', description: 'the job' } },
          },
          ...problemResponses(400, 413, 415, 422, ...authenticatedProblems),
          403: problemResponse(403, 'The tenant keeps the most models allowed (TENANT_MAX_MODELS).'),
          503: problemResponse(503, 'Redis is down, or the job could not be queued and was not kept: retry it (`Retry-After`).'),
        },
      },
      bodyLimit: limits.jobBodyBytes,
    },
    async (request, reply) => {
      const principal = request.principal!;
      const body = request.body as JobRequest;
      const problems = await requestProblems(services, body, principal.tenant);
      const initial = body.initialModel === undefined ? null : await admitInitialModel(services.models, { ...body, initialModel: body.initialModel }, principal.tenant, services.config.networkLimits);
      if (initial && !initial.ok) problems.push(initial.problem);
      if (problems.length > 0) throw invalid(`the job request has ${problems.length} problem${problems.length > 1 ? 's' : ''}`, problems);
      const models = await services.models.countFor(principal.tenant);
      if (models >= limits.modelsPerTenant) {
        throw new HttpProblem(403, 'quota-exceeded', 'Model quota reached', `tenant '${principal.tenant}' keeps ${models} models, the most allowed (TENANT_MAX_MODELS); delete one to train another`);
      }
      const result = await services.queue.submit(body, {
        tenant: principal.tenant,
        maxQueued: limits.queuedJobsPerTenant,
        ...(initial?.ok && initial.use ? { initialModel: initial.use } : {}),
        ...(request.headers['idempotency-key'] ? { idempotencyKey: request.headers['idempotency-key'] } : {}),
      });
      if ('conflict' in result) {
        throw new HttpProblem(422, 'idempotency-key-reused', 'Idempotency key reused', 'this Idempotency-Key was used for a different request');
      }
      if ('limited' in result) {
        throw new HttpProblem(
          429,
          'too-many-queued-jobs',
          'Too Many Requests',
          `tenant '${principal.tenant}' already has ${result.queued} jobs waiting, the most allowed (TENANT_MAX_QUEUED_JOBS); retry when some have started`,
          {},
          { 'retry-after': '30' },
        );
      }
      if ('unavailable' in result) {
        request.log.warn({ tenant: principal.tenant, err: result.unavailable }, 'job not queued');
        throw new HttpProblem(503, 'queue-unavailable', 'Service Unavailable', 'the job could not be queued and was not kept; retry it', {}, { 'retry-after': '5' });
      }
      request.log.info({ jobId: result.record.id, tenant: principal.tenant, created: result.created }, 'job submitted');
      const link = linksFor(request);
      return reply.code(202).header('location', link(`/v1/jobs/${result.record.id}`)).send(jobView(result.record, link));
    },
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        operationId: 'listJobs',
        summary: 'Jobs, newest first.',
        querystring: ListJobsQuery,
        response: { 200: jsonResponse(JobPage, 'A page of jobs.'), ...problemResponses(400, ...authenticatedProblems) },
      },
    },
    async (request) => {
      const principal = request.principal!;
      const { status, limit = 20, cursor } = request.query;
      if (cursor !== undefined && !isJobId(cursor)) throw invalid('cursor is not a job id', [{ path: 'querystring.cursor', message: 'cursor must be the nextCursor of a previous page' }]);
      const page = await services.catalogue.list({
        ...(principal.admin ? {} : { tenant: principal.tenant }),
        ...(status ? { status } : {}),
        limit,
        ...(cursor ? { cursor } : {}),
      });
      const link = linksFor(request);
      return { jobs: page.jobs.map((job) => jobView(job, link)), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        operationId: 'getJob',
        summary: "A job's status, last progress record and result.",
        params: JobParams,
        response: { 200: jsonResponse(Job, 'The job.'), ...problemResponses(404, ...authenticatedProblems) },
      },
    },
    async (request) => jobView(await visibleJob(services, request.principal!, request.params.id), linksFor(request)),
  );

  app.get(
    '/v1/jobs/:id/network',
    {
      schema: {
        operationId: 'getJobNetwork',
        summary: 'The network a job was submitted with (the page draws it).',
        params: JobParams,
        response: { 200: jsonResponse(JobNetwork, 'The network as submitted.'), ...problemResponses(404, ...authenticatedProblems) },
      },
    },
    async (request) => {
      const { id } = await visibleJob(services, request.principal!, request.params.id);
      const work = await services.catalogue.work(id);
      if (!work) throw notFound('job', id);
      return { network: work.request.network };
    },
  );

  app.delete(
    '/v1/jobs/:id',
    {
      schema: {
        operationId: 'cancelJob',
        summary: 'Cancel a job.',
        description:
          'A queued or paused job is cancelled at once and never starts (200; a paused job loses its checkpoints). A running job is asked to stop, on whichever worker runs it; ' +
          'it stops within one iteration and ends `cancelled` (202, with `cancelRequested: true`). A finished job cannot be cancelled (409).',
        params: JobParams,
        response: {
          200: jsonResponse(Job, 'Cancelled.'),
          202: jsonResponse(Job, 'Cancellation requested; the job ends cancelled within one iteration.'),
          ...problemResponses(404, 409, ...authenticatedProblems),
        },
      },
    },
    (request, reply) => answerAction(services, { request, reply, id: request.params.id }, 'cancelled', (id) => services.queue.cancel(id)),
  );

  app.post(
    '/v1/jobs/:id/pause',
    {
      schema: {
        operationId: 'pauseJob',
        summary: 'Pause a job: it leaves its worker, keeping its checkpoint, until resumed.',
        description:
          'A queued job is paused at once (200). A running job checkpoints at the next iteration boundary and leaves its worker, which takes the next job ' +
          '(202, still `running` with `pauseRequested: true`; its events then say `{type: "status", status: "paused", iteration}`). ' +
          'Pausing a paused job answers it as it is (200). A finished job cannot be paused (409). ' +
          'A paused job keeps its checkpoints and counts towards TENANT_MAX_QUEUED_JOBS, not towards the running limit.',
        params: JobParams,
        response: {
          200: jsonResponse(Job, 'Paused (now, or already).'),
          202: jsonResponse(Job, 'Pause requested; the job checkpoints and becomes paused within one iteration.'),
          ...problemResponses(404, 409, ...authenticatedProblems),
        },
      },
    },
    (request, reply) => answerAction(services, { request, reply, id: request.params.id }, 'paused', (id) => services.queue.pause(id)),
  );

  app.post(
    '/v1/jobs/:id/resume',
    {
      schema: {
        operationId: 'resumeJob',
        summary: 'Put a paused job back in the queue; it resumes from its checkpoint.',
        description:
          'A paused job goes back to the queue (`queued`, 202); the worker that takes it goes on from its newest checkpoint (its events say `resumed`). ' +
          'A queued or running job is answered as it is (200): a repeated resume changes nothing. A job still being paused (`pauseRequested: true`) ' +
          'and a finished one cannot be resumed (409).',
        params: JobParams,
        response: {
          200: jsonResponse(Job, 'Not paused: queued or running already.'),
          202: jsonResponse(Job, 'Back in the queue.'),
          ...problemResponses(404, 409, ...authenticatedProblems),
        },
      },
    },
    (request, reply) => answerAction(services, { request, reply, id: request.params.id }, 'resumed', (id) => services.queue.resume(id)),
  );
};
