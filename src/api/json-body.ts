import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parse } from 'secure-json-parse';
import { HttpProblem } from './problem.js';

/** Longest part of the parser's own message kept in a problem's detail. */
const MAX_DETAIL = 200;

/**
 * JSON bodies as Fastify's own parser reads them (secure-json-parse: a `__proto__` key, or a
 * `constructor` key holding a `prototype`, anywhere in the body is refused, since merging such an
 * object could poison prototypes), but with a detail that says which of the two went wrong:
 * Fastify answers "Body is not valid JSON" to both, which sends a user whose JSON is well formed
 * hunting for a syntax error.
 */
export function parseJsonBody(_request: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void): void {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim().length === 0) {
    done(new HttpProblem(400, 'validation', 'Invalid request', 'the body is empty; this route takes a JSON document'));
    return;
  }
  try {
    done(null, parse(text, { protoAction: 'error', constructorAction: 'error' }));
  } catch (err) {
    const message = (err as Error).message;
    const detail = /forbidden (prototype|constructor) property/.test(message)
      ? 'the body has a key named "__proto__" or a "constructor" key holding "prototype", which the API refuses at any depth (they could alter shared objects); rename the key'
      : `the body is not valid JSON: ${message.slice(0, MAX_DETAIL)}`;
    done(new HttpProblem(400, 'invalid-json', 'Invalid JSON', detail));
  }
}

/** Makes parseJsonBody this scope's JSON parser, under `bodyLimit` when given (else the server's). */
export function useJsonBodyParser(scope: FastifyInstance, bodyLimit?: number): void {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string', ...(bodyLimit === undefined ? {} : { bodyLimit }) }, parseJsonBody);
}
