import { describe, type Problem } from './problems.js';

/**
 * Reads the fields of one JSON object, recording a problem (with its path) for every value of the
 * wrong kind and for every field it was never asked about, so a caller can report all of them at once.
 */
export class Fields {
  private readonly seen = new Set<string>();

  constructor(
    private readonly obj: Record<string, unknown>,
    private readonly path: string,
    /** Prefix of every message, e.g. "layers[3] (elu)". */
    private readonly label: string,
    private readonly problems: Problem[],
  ) {}

  has(key: string): boolean {
    return this.ownField(key) !== undefined;
  }

  /** The object's own field names, in order. */
  keys(): string[] {
    return Object.keys(this.obj);
  }

  raw(key: string): unknown {
    this.seen.add(key);
    return this.ownField(key);
  }

  /** Own fields only: what the object inherits (constructor, toString, ...) was never sent. */
  private ownField(key: string): unknown {
    return Object.hasOwn(this.obj, key) ? this.obj[key] : undefined;
  }

  problem(key: string | null, sentence: string): void {
    this.problems.push({ path: key === null ? this.path : `${this.path}.${key}`, message: `${this.label}: ${sentence}` });
  }

  /** A positive (or, with min 0, non-negative) integer. */
  int(key: string, opts: { default?: number; min?: number; max?: number } = {}): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return this.missing(key, opts.default);
    return this.checkInt(key, v, opts.min ?? 1, opts.max);
  }

  /** An integer that may be left out (null then). */
  optionalInt(key: string, opts: { min?: number; max?: number } = {}): number | null | undefined {
    const v = this.raw(key);
    return v === undefined ? null : this.checkInt(key, v, opts.min ?? 1, opts.max);
  }

  /** A number, or a pair [a, b]; a single number n means [n, n] (MATLAB's convention). */
  pair(key: string, opts: { default?: readonly [number, number]; min?: number } = {}): [number, number] | undefined {
    const v = this.raw(key);
    if (v === undefined) return opts.default === undefined ? this.missing(key, undefined) : [...opts.default];
    const min = opts.min ?? 1;
    if (typeof v === 'number') {
      const n = this.checkInt(key, v, min);
      return n === undefined ? undefined : [n, n];
    }
    if (Array.isArray(v) && v.length === 2) {
      const a = this.checkInt(key, v[0], min);
      const b = this.checkInt(key, v[1], min);
      return a === undefined || b === undefined ? undefined : [a, b];
    }
    this.problem(key, `${key} must be an integer or a pair [height, width], not ${describe(v)}`);
    return undefined;
  }

  /**
   * An interval [min, max] of finite numbers (MATLAB's two-element ranges), each at least `min`
   * (above it with exclusiveMin), min not above max.
   */
  range(key: string, opts: { default: readonly [number, number]; min?: number; exclusiveMin?: boolean }): [number, number] | undefined {
    const v = this.raw(key);
    if (v === undefined) return [...opts.default];
    if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      this.problem(key, `${key} must be a pair of finite numbers [min, max], not ${describe(v)}`);
      return undefined;
    }
    const [lo, hi] = v as [number, number];
    if (opts.min !== undefined && !this.checkRange(key, lo, { min: opts.min, ...(opts.exclusiveMin ? { exclusiveMin: true } : {}) })) return undefined;
    if (lo > hi) {
      this.problem(key, `${key} must be [min, max] with min not above max, not [${lo}, ${hi}]`);
      return undefined;
    }
    return [lo, hi];
  }

  number(
    key: string,
    opts: { default?: number; min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean } = {},
  ): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return this.missing(key, opts.default);
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.problem(key, `${key} must be a finite number, not ${describe(v)}`);
      return undefined;
    }
    return this.checkRange(key, v, opts) ? v : undefined;
  }

  /**
   * A positive number or no limit at all. JSON has no Infinity, so "no limit" is spelled null,
   * "Infinity" or "inf"; it is returned as null.
   */
  limit(key: string, opts: { integer?: boolean } = {}): number | null | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null || v === 'Infinity' || v === 'inf') return null;
    if (typeof v === 'number' && Number.isFinite(v) && v > 0 && (!opts.integer || Number.isInteger(v))) return v;
    this.problem(key, `${key} must be a positive ${opts.integer ? 'integer' : 'number'} or null (no limit), not ${describe(v)}`);
    return undefined;
  }

  bool(key: string, fallback: boolean): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    this.problem(key, `${key} must be true or false, not ${describe(v)}`);
    return undefined;
  }

  oneOf<T extends string>(key: string, values: readonly T[], fallback?: T): T | undefined {
    const v = this.raw(key);
    if (v === undefined) return this.missing(key, fallback);
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    this.problem(key, `${key} must be one of ${values.map((x) => `"${x}"`).join(', ')}, not ${describe(v)}`);
    return undefined;
  }

  string(key: string, opts: { pattern?: RegExp; patternText?: string; maxLength?: number } = {}): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const maxLength = opts.maxLength ?? 64;
    if (typeof v !== 'string' || v.length === 0 || v.length > maxLength) {
      this.problem(key, `${key} must be a string of 1 to ${maxLength} characters, not ${describe(v)}`);
      return undefined;
    }
    if (opts.pattern && !opts.pattern.test(v)) {
      this.problem(key, `${key} ${describe(v)} must be ${opts.patternText ?? `match ${opts.pattern}`}`);
      return undefined;
    }
    return v;
  }

  /** Reports every field nobody asked about: a misspelt option must not be silently ignored. */
  rejectUnknown(): void {
    const known = [...this.seen];
    for (const key of Object.keys(this.obj)) {
      if (!this.seen.has(key)) {
        this.problem(key, `unknown field '${key}' (known: ${known.join(', ')})`);
      }
    }
  }

  checkInt(key: string, v: unknown, min: number, max?: number): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.problem(key, `${key} must be an integer, not ${describe(v)}`);
      return undefined;
    }
    return this.checkRange(key, v, { min, max }) ? v : undefined;
  }

  private checkRange(
    key: string,
    v: number,
    opts: { min?: number; max?: number; exclusiveMin?: boolean; exclusiveMax?: boolean },
  ): boolean {
    const { min, max } = opts;
    if (min !== undefined && (opts.exclusiveMin ? v <= min : v < min)) {
      this.problem(key, `${key} must be ${opts.exclusiveMin ? 'greater than' : 'at least'} ${min}, not ${v}`);
      return false;
    }
    if (max !== undefined && (opts.exclusiveMax ? v >= max : v > max)) {
      this.problem(key, `${key} must be ${opts.exclusiveMax ? 'less than' : 'at most'} ${max}, not ${v}`);
      return false;
    }
    return true;
  }

  private missing<T>(key: string, fallback: T | undefined): T | undefined {
    if (fallback === undefined) this.problem(key, `${key} is required`);
    return fallback;
  }
}
