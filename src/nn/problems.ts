/** One thing wrong with a user's input: where (a JSON path) and what, in a plain sentence. */
export interface Problem {
  path: string;
  message: string;
}

/** Thrown where a caller wants an exception rather than a result; carries every problem found. */
export class ValidationError extends Error {
  readonly problems: Problem[];

  constructor(what: string, problems: Problem[]) {
    super(`${what}: ${problems.map((p) => p.message).join('; ')}`);
    this.name = 'ValidationError';
    this.problems = problems;
  }
}

export type Validated<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}
