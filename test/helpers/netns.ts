/**
 * Separate network hosts on one Linux machine, for tests of the service spread over machines:
 * each host is a network namespace with one interface (eth0) on a bridge that lives in a
 * namespace of its own (the switch), an address in 198.18.x.0/24 (RFC 2544's benchmarking range,
 * never routed anywhere) and, for each process started on it, a hostname of its own and a private
 * tmpfs as its disk, which no other host (nor the test) can see. The test process itself is the
 * client: the machine's own namespace gets one more port on the switch (address .1).
 * Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN), iproute2 and util-linux; netnsUnavailable() says
 * why not when they are missing. Nothing leaves the machine; destroy() removes every namespace,
 * interface and folder it made.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { onPath } from '../setup/programs.js';
import { ServiceProcess } from './service.js';

const run = promisify(execFile);

/** Runs `ip` with these arguments; rejects with its stderr. */
async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { encoding: 'utf8' })).stdout;
  } catch (err) {
    throw new Error(`ip ${args.join(' ')}: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`);
  }
}

/**
 * Why this machine cannot build the hosts, or null when it can: tried for real with a namespace
 * holding a bridge and a veth pair, removed at once.
 */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are a Linux feature';
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  for (const [program, pkg] of [['ip', 'iproute2'], ['unshare', 'util-linux'], ['mount', 'mount']] as const) {
    if (!onPath(program, process.env)) return `no ${program} on PATH (apt-get install -y ${pkg})`;
  }
  const probe = `trainyard-probe-${randomBytes(4).toString('hex')}`;
  const steps = [
    ['netns', 'add', probe],
    ['-n', probe, 'link', 'add', 'br0', 'type', 'bridge'],
    ['-n', probe, 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1'],
  ];
  try {
    for (const step of steps) {
      const result = spawnSync('ip', step, { encoding: 'utf8' });
      if (result.status !== 0) return `ip ${step.join(' ')} failed: ${(result.stderr || result.error?.message || '').trim()}`;
    }
    return null;
  } finally {
    spawnSync('ip', ['netns', 'del', probe]);
  }
}

/** A /24 in 198.18.0.0/15 that no interface or route of this machine uses, as its first three octets. */
async function freeSubnet(): Promise<string> {
  const used = (await ip('-4', '-o', 'addr', 'show')) + (await ip('-4', 'route', 'show', 'table', 'all'));
  for (let tries = 0; tries < 100; tries++) {
    const bytes = randomBytes(2);
    const subnet = `198.${18 + (bytes[0]! & 1)}.${bytes[1]}`;
    if (!used.includes(`${subnet}.`)) return subnet;
  }
  throw new Error('no free /24 in 198.18.0.0/15');
}

/** The test's end of its port on the switch, in the machine's own namespace (15 characters at most). */
function clientLinkOf(labId: string): string {
  return `ty-${labId}`;
}

function labDirOf(labId: string): string {
  return path.join(tmpdir(), `trainyard-lab-${labId}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One host: a network namespace with eth0 on the lab's switch. */
export class LabHost {
  constructor(
    readonly name: string,
    readonly namespace: string,
    readonly address: string,
    /** Its folder: every process started here mounts a private tmpfs on it. */
    readonly dir: string,
    private readonly switchNamespace: string,
    private readonly switchPort: string,
  ) {}

  /**
   * Starts `command` on this host (as `ip netns exec`), with the hostname of the host and a fresh
   * private tmpfs on `dir` holding data/, cache/ and tmp/ (what DATA_DIR, STORE_CACHE_DIR and
   * TMPDIR point at, see folders()); resolves once its output contains `ready`.
   */
  start(command: string[], env: Record<string, string>, ready: string, timeoutMs?: number): Promise<ServiceProcess> {
    const setUp = 'hostname "$1" && mount -t tmpfs -o size=1g,mode=0700 trainyard-lab "$2" && mkdir "$2/data" "$2/cache" "$2/tmp" && shift 2 && exec "$@"';
    // unshare execs sh, which execs the command: the child's pid is the command's own, so a signal sent to it reaches it.
    const wrapped = ['ip', 'netns', 'exec', this.namespace, 'unshare', '--uts', 'sh', '-c', setUp, 'sh', this.name, this.dir, ...command];
    return ServiceProcess.start(wrapped, env, ready, timeoutMs);
  }

  /** Where a process started here keeps its data, its read cache and its temporary files. */
  folders(): { DATA_DIR: string; STORE_CACHE_DIR: string; TMPDIR: string } {
    return { DATA_DIR: path.join(this.dir, 'data'), STORE_CACHE_DIR: path.join(this.dir, 'cache'), TMPDIR: path.join(this.dir, 'tmp') };
  }

  /** Pulls the host's cable at the switch: its packets are dropped, its connections wait (no error, no reset). */
  cut(): Promise<string> {
    return ip('-n', this.switchNamespace, 'link', 'set', this.switchPort, 'down');
  }

  reconnect(): Promise<string> {
    return ip('-n', this.switchNamespace, 'link', 'set', this.switchPort, 'up');
  }
}

/** The switch, its hosts, and the test's own port on it. */
export class NetworkLab {
  private readonly hosts: LabHost[] = [];

  private constructor(
    /** Unique per run: names of namespaces and interfaces start with it, so parallel runs never meet. */
    readonly id: string,
    private readonly subnet: string,
  ) {}

  private get dir(): string {
    return labDirOf(this.id);
  }

  private get switchNamespace(): string {
    return `trainyard-${this.id}-switch`;
  }

  private get clientLink(): string {
    return clientLinkOf(this.id);
  }

  /** Builds the switch and connects this process to it; on failure removes what it made. */
  static async create(): Promise<NetworkLab> {
    await NetworkLab.removeAbandoned();
    const id = `${process.pid.toString(36)}x${randomBytes(2).toString('hex')}`;
    const lab = new NetworkLab(id, await freeSubnet());
    try {
      await mkdir(lab.dir);
      const sw = lab.switchNamespace;
      await ip('netns', 'add', sw);
      await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
      await ip('-n', sw, 'link', 'set', 'br0', 'up');
      await ip('link', 'add', lab.clientLink, 'type', 'veth', 'peer', 'name', 'client', 'netns', sw);
      await ip('-n', sw, 'link', 'set', 'client', 'master', 'br0', 'up');
      await ip('addr', 'add', `${lab.subnet}.1/24`, 'dev', lab.clientLink);
      await ip('link', 'set', lab.clientLink, 'up');
      return lab;
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  }

  /**
   * Removes the labs of runs that were killed before their destroy() (their ids start with the
   * pid of the process that made them, and it is gone), so they do not pile up on a CI machine.
   */
  private static async removeAbandoned(): Promise<void> {
    const names = (await ip('netns', 'list')).split('\n').map((line) => line.split(' ')[0]!);
    const abandoned = new Set<string>();
    for (const name of names) {
      const owner = /^trainyard-([0-9a-z]+)x[0-9a-f]{4}-/.exec(name);
      if (owner && !isAlive(parseInt(owner[1]!, 36))) abandoned.add(name.slice('trainyard-'.length, name.indexOf('-', 'trainyard-'.length)));
    }
    for (const id of abandoned) await removeLab(id, names.filter((n) => n.startsWith(`trainyard-${id}-`)));
  }

  /** A new host on the switch, with the next address. */
  async addHost(name: string): Promise<LabHost> {
    const n = this.hosts.length + 2;
    const host = new LabHost(name, `trainyard-${this.id}-${name}`, `${this.subnet}.${n}`, path.join(this.dir, name), this.switchNamespace, `port${n}`);
    this.hosts.push(host);
    await mkdir(host.dir);
    await ip('netns', 'add', host.namespace);
    await ip('-n', this.switchNamespace, 'link', 'add', `port${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.namespace);
    await ip('-n', this.switchNamespace, 'link', 'set', `port${n}`, 'master', 'br0', 'up');
    await ip('-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
    await ip('-n', host.namespace, 'link', 'set', 'eth0', 'up');
    await ip('-n', host.namespace, 'link', 'set', 'lo', 'up');
    return host;
  }

  /** Ends its processes, removes its namespaces (their interfaces with them, the test's port included) and folders; never throws. */
  destroy(): Promise<void> {
    return removeLab(this.id, [...this.hosts.map((h) => h.namespace), this.switchNamespace]);
  }
}

/**
 * Ends whatever still runs in a lab's namespaces (only its own processes live there), removes the
 * namespaces, the test's port and the folders. Never throws: it runs after failures too.
 */
async function removeLab(id: string, namespaces: string[]): Promise<void> {
  for (const namespace of namespaces) {
    const pids = (await ip('netns', 'pids', namespace).catch(() => '')).split('\n').filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await ip('netns', 'del', namespace).catch(() => '');
  }
  await ip('link', 'del', clientLinkOf(id)).catch(() => '');
  await rm(labDirOf(id), { recursive: true, force: true });
}
