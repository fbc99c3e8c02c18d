import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backportsSource, mesaMajor, missingPackages, plan } from './programs.js';

const root = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A bin folder holding executable shell scripts, to stand in for PATH. */
function fakeBin(scripts: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'trainyard-fake-bin-'));
  dirs.push(dir);
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(dir, name), 0o755);
  }
  return dir;
}

/** Runs the pretest step as `npm test` does, in a child process with the given environment. */
function runPretest(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'test/setup/programs.ts'], { cwd: root, env, encoding: 'utf8' });
}

describe('the pretest step', () => {
  it('finds what is missing on PATH and at CHROMIUM_PATH', () => {
    const bin = fakeBin({ 'redis-server': 'exit 0' });
    expect(missingPackages({ PATH: bin, CHROMIUM_PATH: path.join(bin, 'chromium') })).toEqual(['chromium']);
    expect(missingPackages({ PATH: '', CHROMIUM_PATH: path.join(bin, 'redis-server') })).toEqual(['redis-server']);
    expect(missingPackages({ PATH: bin, CHROMIUM_PATH: path.join(bin, 'redis-server') })).toEqual([]);
  });

  it("reads Mesa's version and derives the bookworm-backports source from the machine's mirror", () => {
    expect(mesaMajor('25.0.7-2~bpo12+1')).toBe(25);
    expect(mesaMajor('1:22.3.6-1+deb12u1')).toBe(22);
    expect(mesaMajor('')).toBeNull();
    const sources = 'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n';
    expect(backportsSource(sources)).toContain('URIs: http://mirror.example/debian\nSuites: bookworm-backports\n');
    expect(backportsSource('Types: deb\n')).toBeNull();
  });

  it('without root, stops with the one command that installs what is missing', () => {
    const step = plan(['redis-server', 'chromium'], { root: false, aptGet: true });
    expect(step.action).toBe('fail');
    expect(step.action === 'fail' && step.message).toContain('\n  sudo apt-get install -y redis-server chromium');
    expect(plan([], { root: false, aptGet: false })).toEqual({ action: 'none' });
    expect(plan(['chromium'], { root: true, aptGet: true })).toEqual({ action: 'install', packages: ['chromium'] });
  });

  it('installs optional packages only where it installs, and never stops the run for them', () => {
    expect(plan([], { root: false, aptGet: true }, ['iproute2'])).toEqual({ action: 'none' });
    const without = plan(['chromium'], { root: false, aptGet: true }, ['iproute2']);
    expect(without.action === 'fail' && without.message).toContain('sudo apt-get install -y chromium');
    expect(without.action === 'fail' && without.message).not.toContain('iproute2');
    expect(plan([], { root: true, aptGet: true }, ['iproute2'])).toEqual({ action: 'install', packages: ['iproute2'] });
    expect(plan(['chromium'], { root: true, aptGet: true }, ['iproute2'])).toEqual({ action: 'install', packages: ['chromium', 'iproute2'] });
  });

  it('with no apt-get on PATH, exits 1 at once naming the command', () => {
    const bin = fakeBin({});
    const result = runPretest({ PATH: bin, CHROMIUM_PATH: path.join(bin, 'chromium') });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('sudo apt-get install -y redis-server chromium');
    expect(result.stderr).toContain('no apt-get');
    expect(result.stderr).toContain('the network-hosts test will skip: iproute2 not installed');
  });

  it.skipIf(process.getuid?.() !== 0)('as root, installs the missing packages with one apt-get update', () => {
    const bin = fakeBin({});
    const chromium = path.join(bin, 'chromium');
    // A fake apt-get that logs its arguments and "installs" by putting executables in place.
    const log = path.join(bin, 'apt.log');
    writeFileSync(
      path.join(bin, 'apt-get'),
      `#!/bin/sh\necho "$*" >> ${log}\nif [ "$1" = install ]; then for f in ${bin}/redis-server ${chromium} ${bin}/ip; do printf '#!/bin/sh\\n' > $f; /bin/chmod +x $f; done; fi\n`,
    );
    chmodSync(path.join(bin, 'apt-get'), 0o755);
    const result = runPretest({ PATH: bin, CHROMIUM_PATH: chromium });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('installing redis-server chromium iproute2');
    expect(result.stderr).not.toContain('network-hosts test will skip');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['update -qq', 'install -y -qq redis-server chromium iproute2']);
  });
});
