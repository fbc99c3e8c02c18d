import type { FastifyLoggerOptions, FastifyRequest, RawServerDefault } from 'fastify';
import type { DestinationStream, LoggerOptions } from 'pino';

/**
 * What a request log line says about the request: never its query string (a key sent there is
 * refused, but must not be written down either) and no headers (Authorization, the WebSocket key
 * subprotocol, cookies).
 */
export function requestLogFields(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: redactQuery(request.url),
    host: request.host,
    remoteAddress: request.ip,
  };
}

/** A URL with each query value replaced, so the log still shows which parameters came. */
export function redactQuery(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const names = url
    .slice(at + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => `${pair.split('=')[0]!.slice(0, 64)}=[redacted]`);
  return `${url.slice(0, at)}?${names.join('&')}`;
}

/** Paths pino removes wherever a request or its headers end up in a log object. */
const redactedPaths = ['req.headers', 'headers.authorization', 'headers.cookie', 'headers["sec-websocket-protocol"]', 'request.headers'];

/** The API's logger: level, extra fields, an optional stream (tests capture lines), and the redaction above. */
export function apiLogger(options: { level: string; base?: Record<string, unknown>; stream?: DestinationStream }): FastifyLoggerOptions<RawServerDefault> & LoggerOptions & { stream?: DestinationStream } {
  return {
    level: options.level,
    ...(options.base ? { base: options.base } : {}),
    ...(options.stream ? { stream: options.stream } : {}),
    serializers: { req: (request) => requestLogFields(request as unknown as FastifyRequest) },
    redact: { paths: redactedPaths, censor: '[redacted]' },
  };
}
