import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { UserProblem } from '../nn/problems.js';

/** Parses command-line flags, exiting with the usage text on a mistake. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(usage: string, options: T) {
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: 'boolean' } }, allowPositionals: false });
    if ((values as Record<string, unknown>)['help']) {
      console.log(usage);
      process.exit(0);
    }
    return values;
  } catch (err) {
    fail(`${(err as Error).message}\n\n${usage}`);
  }
}

/** A JSON flag: inline JSON, or @file to read it from a file. */
export function jsonFlag(value: string | undefined, flag: string): unknown {
  if (value === undefined) return undefined;
  const text = value.startsWith('@') ? readFileSync(value.slice(1), 'utf8') : value;
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(`${flag}: not valid JSON (${(err as Error).message})`);
  }
}

export function intFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(value)) fail(`${flag} must be a positive integer, not '${value}'`);
  return Number(value);
}

export function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

/** A user's problem as the command line prints it: the one place UserProblem becomes text. */
export function problemText(problem: UserProblem): string {
  return problem.problems.length > 0 ? `${problem.title}:\n  ${problem.problems.map((p) => `${p.path}: ${p.message}`).join('\n  ')}` : `${problem.title}: ${problem.message}`;
}
