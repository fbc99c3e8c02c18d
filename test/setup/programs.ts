/**
 * `npm test`'s pretest step: the programs the tests run that `npm ci` cannot install.
 *   redis-server  the end-to-end tests start private ones (and test/setup/redis.ts one for the rest)
 *   chromium      the browser tests drive Debian's Chromium (never one Playwright downloads)
 * Missing ones are installed with apt-get when this runs as root on a machine with apt-get (one
 * `apt-get update` at most); otherwise it stops at once with the one command that installs them,
 * rather than letting the suite fail minutes later.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

type Env = Record<string, string | undefined>;

/** Where the browser tests look for Chromium. */
export function chromiumPathIn(env: Env): string {
  return env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The file `name` would run as, found on env's PATH, or null. */
export function onPath(name: string, env: Env): string | null {
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** Each Debian package the tests need, with how to tell it is there. */
const requirements: { package: string; present(env: Env): boolean }[] = [
  { package: 'redis-server', present: (env) => onPath('redis-server', env) !== null },
  { package: 'chromium', present: (env) => isExecutable(chromiumPathIn(env)) },
];

export function missingPackages(env: Env): string[] {
  return requirements.filter((r) => !r.present(env)).map((r) => r.package);
}

export function fixCommand(packages: string[]): string {
  return `sudo apt-get install -y ${packages.join(' ')}`;
}

export type Plan = { action: 'none' } | { action: 'install'; packages: string[] } | { action: 'fail'; message: string };

/** What to do about the missing packages: nothing, install them, or stop with the command that does. */
export function plan(missing: string[], can: { root: boolean; aptGet: boolean }): Plan {
  if (missing.length === 0) return { action: 'none' };
  if (can.root && can.aptGet) return { action: 'install', packages: missing };
  const why = can.aptGet ? 'not running as root' : 'no apt-get on this machine';
  return {
    action: 'fail',
    message: `npm test needs ${missing.join(' and ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed (${why}, so the tests cannot install ${missing.length === 1 ? 'it' : 'them'}). Install with:\n  ${fixCommand(missing)}`,
  };
}

function aptGet(args: string[], env: Env): void {
  const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status})`);
}

/** Runs the plan for this environment; returns the process's exit code. */
export function ensurePrograms(env: Env, root: boolean): number {
  const step = plan(missingPackages(env), { root, aptGet: onPath('apt-get', env) !== null });
  if (step.action === 'none') return 0;
  if (step.action === 'fail') {
    console.error(step.message);
    return 1;
  }
  console.log(`installing ${step.packages.join(' ')} for the tests (apt-get)`);
  aptGet(['update', '-qq'], env);
  aptGet(['install', '-y', '-qq', ...step.packages], env);
  const still = missingPackages(env);
  if (still.length === 0) return 0;
  console.error(`apt-get did not provide ${still.join(' and ')}; install by hand:\n  ${fixCommand(still)}`);
  return 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = ensurePrograms(process.env, process.getuid?.() === 0);
}
