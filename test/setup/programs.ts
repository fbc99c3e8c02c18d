/**
 * `npm test`'s pretest step: the programs the tests run that `npm ci` cannot install.
 *   redis-server  the end-to-end tests start private ones (and test/setup/redis.ts one for the rest)
 *   chromium      the browser tests drive Debian's Chromium (never one Playwright downloads)
 *   mesa-vulkan-drivers (Mesa 23 or later, from bookworm-backports on Debian 12): lavapipe, the
 *                 software Vulkan driver the webgpu tests run on (Mesa 22's lacks what Dawn needs).
 *                 Optional: when it cannot be installed the webgpu tests skip and say why.
 *   iproute2      the network-hosts test builds network namespaces with `ip`. Optional: only root can
 *                 build them, so it is installed (with the rest) only as root; without it that test skips.
 * Missing ones are installed with apt-get when this runs as root on a machine with apt-get (one
 * `apt-get update` at most); otherwise it stops at once with the one command that installs them,
 * rather than letting the suite fail minutes later.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
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

/** Packages whose tests skip (and say why) without them, installed only where the required ones could be. */
const optionalRequirements: { package: string; present(env: Env): boolean }[] = [{ package: 'iproute2', present: (env) => onPath('ip', env) !== null }];

export function missingPackages(env: Env): string[] {
  return requirements.filter((r) => !r.present(env)).map((r) => r.package);
}

export function missingOptionalPackages(env: Env): string[] {
  return optionalRequirements.filter((r) => !r.present(env)).map((r) => r.package);
}

export function fixCommand(packages: string[]): string {
  return `sudo apt-get install -y ${packages.join(' ')}`;
}

export type Plan = { action: 'none' } | { action: 'install'; packages: string[] } | { action: 'fail'; message: string };

/**
 * What to do about the missing packages: nothing, install them (the optional ones too), or stop
 * with the command that installs the required ones. Optional ones alone never stop the run.
 */
export function plan(missing: string[], can: { root: boolean; aptGet: boolean }, optional: string[] = []): Plan {
  if (can.root && can.aptGet && missing.length + optional.length > 0) return { action: 'install', packages: [...missing, ...optional] };
  if (missing.length === 0) return { action: 'none' };
  const why = can.aptGet ? 'not running as root' : 'no apt-get on this machine';
  return {
    action: 'fail',
    message: `npm test needs ${missing.join(' and ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed (${why}, so the tests cannot install ${missing.length === 1 ? 'it' : 'them'}). Install with:\n  ${fixCommand(missing)}`,
  };
}

/** Mesa's major version as dpkg knows it ("25.0.7-2~bpo12+1" -> 25), or null when not installed. */
export function mesaMajor(dpkgVersion: string): number | null {
  const major = /^(?:\d+:)?(\d+)\./.exec(dpkgVersion.trim());
  return major ? Number(major[1]) : null;
}

/** The first Mesa whose lavapipe has the dynamic indexing Dawn requires. */
const lavapipeMesa = 23;

/** Mesa's installed major version, null when it is not installed, undefined without dpkg to ask. */
function installedMesa(env: Env): number | null | undefined {
  const q = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'mesa-vulkan-drivers'], { encoding: 'utf8', env });
  if (q.error) return undefined;
  return q.status === 0 ? mesaMajor(q.stdout) : null;
}

/** The apt source for bookworm-backports on the mirror `sources` (a deb822 .sources file) already uses. */
export function backportsSource(sources: string): string | null {
  const uri = /^URIs:\s*(\S+\/debian)\s*$/m.exec(sources)?.[1];
  if (!uri) return null;
  return `Types: deb\nURIs: ${uri}\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`;
}

const debianSources = '/etc/apt/sources.list.d/debian.sources';
const backportsFile = '/etc/apt/sources.list.d/bookworm-backports.sources';

/**
 * Installs Mesa's lavapipe from bookworm-backports for the webgpu tests, when it is missing or too
 * old and this is Debian 12 as root. Never fails the run: it says why the webgpu tests will skip.
 */
function ensureLavapipe(env: Env, root: boolean): void {
  const mesa = installedMesa(env);
  if (mesa !== null && mesa !== undefined && mesa >= lavapipeMesa) return;
  const skip = (why: string) => console.warn(`the webgpu tests will skip: ${why}`);
  if (mesa === undefined) return skip('no dpkg-query here to tell which Mesa Vulkan driver is installed');
  const have = mesa === null ? 'no Mesa Vulkan driver' : `Mesa ${mesa}'s lavapipe lacks what Dawn needs`;
  const bookworm = existsSync('/etc/os-release') && /^VERSION_CODENAME=bookworm$/m.test(readFileSync('/etc/os-release', 'utf8'));
  if (!root || !bookworm || onPath('apt-get', env) === null) {
    return skip(`${have}; on Debian 12 as root: add bookworm-backports to apt's sources, then apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`);
  }
  try {
    if (!existsSync(backportsFile)) {
      const source = existsSync(debianSources) ? backportsSource(readFileSync(debianSources, 'utf8')) : null;
      if (!source) return skip(`${have}, and no Debian mirror found in ${debianSources} to add bookworm-backports from`);
      writeFileSync(backportsFile, source);
    }
    console.log(`installing Mesa's lavapipe from bookworm-backports for the webgpu tests (${have})`);
    aptGet(['update', '-qq'], env);
    aptGet(['install', '-y', '-qq', '-t', 'bookworm-backports', 'mesa-vulkan-drivers', 'libvulkan1'], env);
  } catch (err) {
    skip(`${have}; ${(err as Error).message}`);
  }
}

function aptGet(args: string[], env: Env): void {
  const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${result.status})`);
}

/** Runs the plan for this environment; returns the process's exit code. */
export function ensurePrograms(env: Env, root: boolean): number {
  ensureLavapipe(env, root);
  const step = plan(missingPackages(env), { root, aptGet: onPath('apt-get', env) !== null }, missingOptionalPackages(env));
  if (step.action === 'fail') console.error(step.message);
  if (step.action === 'install') {
    console.log(`installing ${step.packages.join(' ')} for the tests (apt-get)`);
    aptGet(['update', '-qq'], env);
    aptGet(['install', '-y', '-qq', ...step.packages], env);
  }
  const optional = missingOptionalPackages(env);
  if (optional.length > 0) console.warn(`the network-hosts test will skip: ${optional.join(' and ')} not installed (as root: apt-get install -y ${optional.join(' ')})`);
  if (step.action !== 'install') return step.action === 'fail' ? 1 : 0;
  const still = missingPackages(env);
  if (still.length === 0) return 0;
  console.error(`apt-get did not provide ${still.join(' and ')}; install by hand:\n  ${fixCommand(still)}`);
  return 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = ensurePrograms(process.env, process.getuid?.() === 0);
}
