import { Type, type TSchema } from '@sinclair/typebox';
import { component } from './component.js';

/** One problem with a request, at the JSON path of the field it concerns. */
export const FieldProblem = Type.Object({
  path: Type.String({ examples: ['network.layers[3].numChannels'] }),
  message: Type.String({ examples: ['layers[3] (elu): numChannels 16 does not match its 20 input channels'] }),
}, { [component]: 'FieldProblem' });

/**
 * An RFC 9457 problem, as every error leaves the API. Open to extension members (`jobStatus` on a
 * 409, `redis` on a not-ready 503), which the serializer must pass on rather than drop.
 */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'urn:trainyard:problem:<kind>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.Optional(Type.String({ description: 'the request path' })),
    errors: Type.Optional(Type.Array(FieldProblem, { description: 'Every problem found, each with the JSON path of the field.' })),
  },
  { [component]: 'Problem', additionalProperties: true, description: 'An RFC 9457 problem.' },
);

const problemMediaType = 'application/problem+json';

/** What each status means when a route answers it with a problem (the route's own description may say more). */
const problemMeaning = new Map<number, string>([
  [400, 'The request is invalid: `errors` names every field that is wrong.'],
  [401, 'No valid API key (`Authorization: Bearer <key>`).'],
  [403, 'Not allowed.'],
  [404, 'No such resource (also another tenant\'s: no existence leak).'],
  [408, 'The request did not arrive within HTTP_REQUEST_TIMEOUT_MS.'],
  [409, 'Conflicts with the resource\'s state (a finished job; a model whose files are missing or corrupt).'],
  [413, 'The body is larger than this route accepts.'],
  [414, 'A path segment is longer than any id the API issues.'],
  [415, 'A body type this route does not take (the detail names those it takes).'],
  [422, 'Understood but refused.'],
  [426, 'A WebSocket route asked for without "Upgrade: websocket".'],
  [429, 'Too many requests (rate limit or a per-tenant cap); `Retry-After` says when to retry.'],
  [503, 'A service the API needs is unavailable (Redis down: at once, with `Retry-After`).'],
]);

/** A problem response for the route schema: Fastify serializes it, @fastify/swagger documents it. */
export function problemResponse(status: number, description = problemMeaning.get(status) ?? 'An RFC 9457 problem.') {
  return { description, content: { [problemMediaType]: { schema: Problem } } };
}

/** Problem responses for `statuses`, keyed by status, to spread into a route's `response`. */
export function problemResponses(...statuses: number[]): Record<number, ReturnType<typeof problemResponse>> {
  return Object.fromEntries(statuses.map((status) => [status, problemResponse(status)]));
}

/** What every authenticated route may answer besides its own statuses. */
export const authenticatedProblems = [401, 429, 503] as const;

/** A JSON response with a description, for routes whose responses are documented one by one. */
export function jsonResponse<T extends TSchema>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}
