import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Problem } from '../nn/problems.js';

/**
 * RFC 9457 problem details. Every error the API sends is one of these, as
 * application/problem+json; a 5xx never carries the underlying message.
 */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** Each problem with the JSON path of the field it concerns. */
  errors?: Problem[];
  [extension: string]: unknown;
}

export const problemContentType = 'application/problem+json';

/** An error that becomes a problem response with its own status; throw it from a handler. */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

export function problemType(slug: string): string {
  return `urn:trainyard:problem:${slug}`;
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, p: ProblemDetails): FastifyReply {
  return reply
    .code(p.status)
    .type(problemContentType)
    .send({ ...p, instance: request.url });
}

export function notFound(what: string, id: string): HttpProblem {
  return new HttpProblem(404, 'not-found', 'Not Found', `${what} '${id}' does not exist`);
}

export function invalid(detail: string, errors: Problem[]): HttpProblem {
  return new HttpProblem(400, 'validation', 'Invalid request', detail, { errors });
}

/** Fastify's own client errors (codes) and the problem each becomes. */
const fastifyClientErrors: Record<string, { slug: string; title: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { slug: 'body-too-large', title: 'Payload Too Large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { slug: 'unsupported-media-type', title: 'Unsupported Media Type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { slug: 'validation', title: 'Invalid request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { slug: 'invalid-json', title: 'Invalid JSON' },
};

/** One handler for every error: problem details, with nothing internal leaking from a 5xx. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpProblem) {
      reply.headers(error.headers);
      return sendProblem(reply, request, { type: problemType(error.slug), title: error.title, status: error.status, detail: error.message, ...error.extensions });
    }
    if (error.validation) {
      const errors = error.validation.map((v) => {
        const where = [error.validationContext ?? 'body', ...v.instancePath.split('/').filter(Boolean)];
        const missing = (v.params as { missingProperty?: string }).missingProperty;
        const extra = (v.params as { additionalProperty?: string }).additionalProperty;
        if (missing) where.push(missing);
        if (extra) where.push(extra);
        const path = where.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
        const message = extra ? `${path}: unknown field '${extra}'` : `${path}: ${v.message ?? 'is invalid'}`;
        return { path, message };
      });
      return sendProblem(reply, request, {
        type: problemType('validation'),
        title: 'Invalid request',
        status: 400,
        detail: errors.map((e) => e.message).join('; '),
        errors,
      });
    }
    const known = error.code ? fastifyClientErrors[error.code] : undefined;
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(reply, request, {
        type: problemType(known?.slug ?? 'client-error'),
        title: known?.title ?? 'Bad Request',
        status,
        detail: error.message,
      });
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, request, {
      type: problemType('internal'),
      title: status === 503 ? 'Service Unavailable' : 'Internal Server Error',
      status: status === 503 ? 503 : 500,
      detail: status === 503 ? 'a service the API needs is not available; try again shortly' : 'the server failed to handle this request; it has been logged',
    });
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, { type: problemType('not-found'), title: 'Not Found', status: 404, detail: `no route for ${request.method} ${request.url.split('?')[0]}` }),
  );
}
