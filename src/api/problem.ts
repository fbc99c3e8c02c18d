import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UserProblem, type Problem } from '../nn/problems.js';
import { uploadIdleCode, waivesRequestTimeout } from './upload-timeout.js';

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

/**
 * Headers every problem carries, also when it leaves before Fastify's hooks ran (the router's 414,
 * a request timeout): a problem is data, never a page to render or frame.
 */
export const problemSecurityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** Paths longer than this are not repeated back (a 414's whole point is that the URL is too long). */
const maxEchoedPath = 256;

/** The request's path for `instance`: never its query string (where a key may have been sent), never a huge one. */
export function instancePath(url: string): string | undefined {
  const pathOnly = url.split('?')[0]!;
  return pathOnly.length <= maxEchoedPath ? pathOnly : undefined;
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, p: ProblemDetails): FastifyReply {
  for (const [name, value] of Object.entries(problemSecurityHeaders)) if (!reply.hasHeader(name)) reply.header(name, value);
  const instance = instancePath(request.url);
  return reply
    .code(p.status)
    .type(problemContentType)
    .send({ ...p, ...(instance ? { instance } : {}) });
}

export function notFound(what: string, id: string): HttpProblem {
  return new HttpProblem(404, 'not-found', 'Not Found', `${what} '${id}' does not exist`);
}

export function invalid(detail: string, errors: Problem[]): HttpProblem {
  return new HttpProblem(400, 'validation', 'Invalid request', detail, { errors });
}

/** Fastify's own client errors (codes) and the problem each becomes. */
const fastifyClientErrors = new Map<string, { slug: string; title: string }>([
  ['FST_ERR_CTP_BODY_TOO_LARGE', { slug: 'body-too-large', title: 'Payload Too Large' }],
  ['FST_ERR_CTP_INVALID_MEDIA_TYPE', { slug: 'unsupported-media-type', title: 'Unsupported Media Type' }],
  ['FST_ERR_BAD_URL', { slug: 'bad-url', title: 'Bad Request' }],
  ['FST_ERR_MAX_PARAM_LENGTH', { slug: 'uri-too-long', title: 'URI Too Long' }],
]);

/** Body types the API parses anywhere; a route takes those its plugin registered a parser for. */
const parsedTypes = ['application/json', 'image/png', 'application/zip', 'application/x-tar', 'application/gzip', 'multipart/form-data'];

function unsupportedMediaType(request: FastifyRequest): string {
  const takes = parsedTypes.filter((type) => request.server.hasContentTypeParser(type));
  const got = request.headers['content-type'] ?? 'no content type';
  return `this route takes ${takes.join(' or ')}; got ${got.slice(0, 100)}`;
}

/**
 * What the router says before any route runs (a malformed URL, a parameter longer than
 * maxParamLength): Fastify's default body would echo the URL and skip the security headers.
 */
function routerErrorDetail(code: string | undefined): string {
  if (code === 'FST_ERR_MAX_PARAM_LENGTH') return 'a path segment of this URL is longer than any id the API issues';
  if (code === 'FST_ERR_BAD_URL') return 'this URL is not validly percent-encoded';
  return 'this request could not be routed';
}

/**
 * A Redis that is down or not answering: ioredis rejects (offline or command timeout) and the
 * request is answered 503 at once rather than waiting for a reconnection.
 */
export function isRedisUnavailable(error: Error): boolean {
  return /^(Command timed out|Connection is closed|Stream isn't writeable)|ECONNREFUSED|MaxRetriesPerRequest/.test(error.message) || error.name === 'MaxRetriesPerRequestError';
}

export function redisUnavailable(): HttpProblem {
  return new HttpProblem(503, 'unavailable', 'Service Unavailable', 'the job store (Redis) is not answering; try again shortly', {}, { 'retry-after': '5' });
}

/** Each validation error's path from the body's root (`network.layers`); other parts keep their name (`querystring.limit`). */
function validationPath(context: string | undefined, instancePath: string, extra: string | undefined): string {
  const where = [...(context && context !== 'body' ? [context] : []), ...instancePath.split('/').filter(Boolean), ...(extra ? [extra] : [])];
  const path = where.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  return path || '(body)';
}

/** One handler for every error: problem details, with nothing internal leaking from a 5xx. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpProblem) {
      reply.headers(error.headers);
      return sendProblem(reply, request, { type: problemType(error.slug), title: error.title, status: error.status, detail: error.message, ...error.extensions });
    }
    if (error instanceof UserProblem) {
      // A user's problem raised below the routes (the engine's validators): 400 with each problem by path.
      const report = error.report === undefined ? {} : { report: error.report };
      const errors = error.problems.length > 0 ? { errors: error.problems } : {};
      return sendProblem(reply, request, { type: problemType('validation'), title: error.title, status: 400, detail: error.message, ...errors, ...report });
    }
    if (error.validation) {
      const errors = error.validation.map((v) => {
        const params = v.params as { missingProperty?: string; additionalProperty?: string };
        const path = validationPath(error.validationContext, v.instancePath, params.missingProperty ?? params.additionalProperty);
        const message = params.additionalProperty ? `${path}: unknown field '${params.additionalProperty}'` : `${path}: ${v.message ?? 'is invalid'}`;
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
    const known = error.code ? fastifyClientErrors.get(error.code) : undefined;
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return sendProblem(reply, request, {
        type: problemType(known?.slug ?? 'client-error'),
        title: known?.title ?? 'Bad Request',
        status,
        detail: error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? unsupportedMediaType(request) : error.message,
      });
    }
    if (isRedisUnavailable(error)) {
      request.log.warn({ err: error.message }, 'redis unavailable');
      const problem = redisUnavailable();
      reply.headers(problem.headers);
      return sendProblem(reply, request, { type: problemType(problem.slug), title: problem.title, status: 503, detail: problem.message });
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, request, {
      type: problemType('internal'),
      title: status === 503 ? 'Service Unavailable' : 'Internal Server Error',
      status: status === 503 ? 503 : 500,
      detail: status === 503 ? 'a service the API needs is not available; try again shortly' : 'the server failed to handle this request; it has been logged',
    });
  });
}

/** For the not-found handler: a 404 problem that does not repeat the URL in its detail. */
export function routeNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendProblem(reply, request, { type: problemType('not-found'), title: 'Not Found', status: 404, detail: `no route for ${request.method} at this path; the API's routes are in /openapi.yaml` });
}

/** Fastify's `frameworkErrors` option: the router's own errors, as problems. */
export function routerErrorProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known = error.code ? fastifyClientErrors.get(error.code) : undefined;
  const status = error.statusCode ?? 400;
  void sendProblem(reply, request, {
    type: problemType(known?.slug ?? 'client-error'),
    title: known?.title ?? 'Bad Request',
    status: status >= 400 && status < 500 ? status : 400,
    detail: routerErrorDetail(error.code),
  });
}

const socketErrors = new Map<string, { status: number; slug: string; title: string; detail: string }>([
  ['ERR_HTTP_REQUEST_TIMEOUT', { status: 408, slug: 'request-timeout', title: 'Request Timeout', detail: 'the request did not arrive in time (HTTP_REQUEST_TIMEOUT_MS, HTTP_HEADERS_TIMEOUT_MS)' }],
  [uploadIdleCode, { status: 408, slug: 'request-timeout', title: 'Request Timeout', detail: 'no bytes of the upload arrived for DATASET_UPLOAD_IDLE_TIMEOUT_MS: it was dropped; send it again' }],
  ['HPE_HEADER_OVERFLOW', { status: 431, slug: 'headers-too-large', title: 'Request Header Fields Too Large', detail: 'the request headers are larger than the server accepts' }],
]);

/**
 * Node's `clientError`: timeouts and unparseable requests never reach Fastify's handlers, so the
 * problem is written on the socket itself, then the connection is closed.
 */
export function clientErrorProblem(error: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // An upload timed by its idle limit instead (src/api/upload-timeout.ts).
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT' && waivesRequestTimeout(socket)) return;
  const known = (error.code ? socketErrors.get(error.code) : undefined) ?? { status: 400, slug: 'bad-request', title: 'Bad Request', detail: 'the request is not valid HTTP' };
  const body = JSON.stringify({ type: problemType(known.slug), title: known.title, status: known.status, detail: known.detail });
  const headers = Object.entries({ ...problemSecurityHeaders, 'content-type': problemContentType, 'content-length': String(Buffer.byteLength(body)), connection: 'close' })
    .map(([name, value]) => `${name}: ${value}`)
    .join('\r\n');
  if (socket.writable) socket.write(`HTTP/1.1 ${known.status} ${known.title}\r\n${headers}\r\n\r\n${body}`);
  socket.destroy(error);
}
