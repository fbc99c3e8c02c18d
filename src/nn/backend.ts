/**
 * The training-backend registry: picks the tfjs backend once per process from the entries in
 * src/nn/backends (one file each). TRAINYARD_BACKEND names an entry, or 'auto' tries the entries
 * auto may pick, highest priority first, and takes the first that starts. An entry auto may not
 * pick (the pure-JS cpu backend) runs only when named: training never silently falls back to it.
 */
import type { AdapterInfo, BackendEntry, Device, StartOptions } from './backends/entry.js';
import { firstLine } from './backends/entry.js';
import { cpuBackend } from './backends/cpu.js';
import { tensorflowBackend } from './backends/tensorflow.js';
import { wasmBackend } from './backends/wasm.js';
import { webgpuBackend } from './backends/webgpu.js';
import { registerKernels } from './kernels/index.js';

export const backendEntries = [tensorflowBackend, webgpuBackend, wasmBackend, cpuBackend] as const;

export type BackendName = (typeof backendEntries)[number]['name'];
export type BackendPreference = 'auto' | BackendName;

/** TRAINYARD_BACKEND's allowed values, for config.ts. */
export const backendPreferences: readonly BackendPreference[] = ['auto', ...backendEntries.map((e) => e.name)];

export interface BackendInfo {
  /** The tfjs backend name (the entry's name). */
  name: BackendName;
  /** The package that provides it. */
  package: string;
  device: Device;
  /** Why this one: what was asked for and what was tried. */
  reason: string;
  /** The GPU adapter (vendor, architecture, description), for a backend that picks one. */
  adapter?: AdapterInfo;
  /** Whether kernels compile on first use, so a worker warms up before taking jobs (src/run/warm-up.ts). */
  compilesKernels: boolean;
}

/** The entries auto tries, in order. */
export function autoOrder<E extends BackendEntry>(entries: readonly E[]): E[] {
  return entries.filter((e) => e.auto !== null).sort((a, b) => b.auto!.priority - a.auto!.priority);
}

/**
 * The heap ceiling training under `preference` may meet, or null where only the machine limits it.
 * Auto can end on any entry it tries (wasm wherever no native package loads), so it gets the
 * smallest of theirs: the API sizes jobs before it knows which worker takes them.
 */
export function memoryCeilingFor(preference: BackendPreference): number | null {
  const candidates = preference === 'auto' ? autoOrder(backendEntries) : backendEntries.filter((e) => e.name === preference);
  const ceilings = candidates.map((e): number | null => e.memoryCeilingBytes).filter((c): c is number => c !== null);
  return ceilings.length > 0 ? Math.min(...ceilings) : null;
}

/** One line for the configuration docs, from the entries. */
export function backendDoc(): string {
  const auto = autoOrder(backendEntries).map((e) => e.name);
  return `tfjs backend: auto (tries ${auto.join(', then ')}) or one of: ${backendEntries.map((e) => `${e.name} (${e.summary})`).join(', ')}`;
}

/** Starts the entry `preference` asks for (or auto's first that starts) and registers its kernels. */
export async function chooseBackend<E extends BackendEntry>(
  entries: readonly E[],
  preference: string,
  options: Omit<StartOptions, 'auto'> = {},
): Promise<{ entry: E; info: Omit<BackendInfo, 'name'> & { name: E['name'] } }> {
  const asked = preference === 'auto' ? 'auto' : `TRAINYARD_BACKEND=${preference}`;
  const candidates = preference === 'auto' ? autoOrder(entries) : entries.filter((e) => e.name === preference);
  if (preference !== 'auto' && candidates.length === 0) {
    throw new Error(`${asked} is not a backend; the backends are ${entries.map((e) => e.name).join(', ')} (or auto)`);
  }
  const tried: string[] = [];
  for (const entry of candidates) {
    let started;
    try {
      started = await entry.start({ ...options, auto: preference === 'auto' });
    } catch (err) {
      tried.push(`${entry.name} (${firstLine(err)})`);
      continue;
    }
    registerKernels(await entry.kernels());
    tried.push(...(started.skipped ?? []));
    const reason = tried.length > 0 ? `${asked}: ${started.outcome}; not available: ${tried.join('; ')}` : `${asked}: ${started.outcome}`;
    const adapter = started.adapter ? { adapter: started.adapter } : {};
    const compilesKernels = started.compilesKernels ?? false;
    return { entry, info: { name: entry.name, package: started.package, device: started.device, reason, compilesKernels, ...adapter } };
  }
  const namedOnly = entries.filter((e) => e.auto === null && e.name !== preference).map((e) => e.name);
  const hint = namedOnly.length > 0 ? `; to train on ${namedOnly.join(' or ')} deliberately, name it in TRAINYARD_BACKEND` : '';
  throw new Error(`${asked}, but no backend could start: ${tried.join('; ')}${hint}`);
}

let chosen: { preference: BackendPreference; info: Promise<BackendInfo> } | null = null;
let active: (typeof backendEntries)[number] | null = null;

/**
 * Chooses the backend once per process; later calls with the same preference get the same answer
 * (the options of the first call hold).
 */
export function initBackend(preference: BackendPreference = 'auto', options: Omit<StartOptions, 'auto'> = {}): Promise<BackendInfo> {
  if (chosen && chosen.preference !== preference) {
    throw new Error(`the backend was already chosen with preference '${chosen.preference}'; it cannot change to '${preference}' in the same process`);
  }
  chosen ??= { preference, info: start(preference, options) };
  return chosen.info;
}

async function start(preference: BackendPreference, options: Omit<StartOptions, 'auto'>): Promise<BackendInfo> {
  // tfjs-core registers no gradients by itself; the tfjs-layers bundle registers all of them.
  await import('@tensorflow/tfjs-layers');
  const { entry, info } = await chooseBackend(backendEntries, preference, options);
  active = entry;
  return info;
}

/** The chosen entry, for what its backend can do (memoryCeilingBytes); after initBackend resolved. */
export function activeBackend(): BackendEntry<BackendName> {
  if (!active) throw new Error('no backend chosen yet: await initBackend() first');
  return active;
}
