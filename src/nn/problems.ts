/** One thing wrong with a user's input: where (a JSON path) and what, in a plain sentence. */
export interface Problem {
  path: string;
  message: string;
}

/**
 * The one error meant for a user, end to end: a title, a sentence (the message) and the problems by
 * path. A job fails with it as it is (no retry), the API sends it as RFC 9457 problem details
 * (src/api/problem.ts), the command line prints it (src/cli/args.ts); any other error is a fault of
 * ours, logged and never shown.
 */
export class UserProblem extends Error {
  readonly title: string;
  readonly problems: Problem[];
  /** A custom layer's check report, when that check failed. */
  readonly report: unknown;

  constructor(fields: { title: string; detail: string; problems?: Problem[]; report?: unknown }, options?: ErrorOptions) {
    super(fields.detail, options);
    this.name = 'UserProblem';
    this.title = fields.title;
    this.problems = fields.problems ?? [];
    this.report = fields.report;
  }

  /** As a failed job records it. */
  toJobError(): { title: string; detail: string; problems?: Problem[]; report?: unknown } {
    return {
      title: this.title,
      detail: this.message,
      ...(this.problems.length > 0 ? { problems: this.problems } : {}),
      ...(this.report !== undefined ? { report: this.report } : {}),
    };
  }
}

/** Input that failed validation, where a caller wants an exception rather than a Validated result. */
export class ValidationError extends UserProblem {
  constructor(what: string, problems: Problem[], title = 'Invalid input') {
    super({ title, detail: `${what}: ${problems.map((p) => p.message).join('; ')}`, problems });
    this.name = 'ValidationError';
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
