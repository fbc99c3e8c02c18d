import type { FastifyRequest } from 'fastify';

/**
 * The path prefix a reverse proxy mounts the API under, from `X-Forwarded-Prefix`: links and
 * `Location` headers start with it, so they lead somewhere behind the proxy too. Only a plain
 * path is honoured (segments of letters, digits and `-._~`, no `.`/`..`, at most 200 characters);
 * anything else is ignored, so the header can never make a link point off the site.
 */
export function forwardedPrefix(request: FastifyRequest): string {
  const header = request.headers['x-forwarded-prefix'];
  const value = (Array.isArray(header) ? header[0] : header)?.trim().replace(/\/+$/, '') ?? '';
  if (value === '' || value.length > 200 || !/^(\/[A-Za-z0-9._~-]+)+$/.test(value)) return '';
  return value.split('/').some((segment) => segment === '.' || segment === '..') ? '' : value;
}

/** A link to `path` (which starts with /v1/...) as this request's caller reaches it. */
export type LinkTo = (path: string) => string;

export function linksFor(request: FastifyRequest): LinkTo {
  const prefix = forwardedPrefix(request);
  return (path) => `${prefix}${path}`;
}
