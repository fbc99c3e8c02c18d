/**
 * What a training backend is to trainyard: one entry in the registry (src/nn/backend.ts). Nothing
 * outside the entries and the registry knows a backend by name; code that needs to know what the
 * backend can do asks the chosen entry (its kernels, its memory ceiling).
 */
import type * as tf from '@tensorflow/tfjs-core';

export type Device = 'gpu' | 'cpu';

/** The GPU adapter a backend trains on, as the driver names it (WebGPU's GPUAdapterInfo). */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
}

/** How the registry starts an entry: under auto, an entry may refuse what it would do only when named. */
export interface StartOptions {
  auto: boolean;
  /** Threads a backend computing on the CPU may use (TRAINYARD_THREADS); 1: the process's own thread alone. */
  threads?: number;
}

/** What an entry reports once it runs: stored in every model's manifest and shown by GET /v1/admin/workers. */
export interface Started {
  /** The package that provides the backend. */
  package: string;
  device: Device;
  /** What started, for the reason text ("@tensorflow/tfjs-node loaded"). */
  outcome: string;
  /** Alternatives the entry tried first and could not load, each "what: why". */
  skipped?: string[];
  /** The GPU adapter, for backends that pick one. */
  adapter?: AdapterInfo;
  /**
   * Whether the first use of each kernel compiles it (WebGPU's shaders, CUDA's PTX on a GPU the
   * TensorFlow build has no code for): the worker then warms up before it takes jobs.
   */
  compilesKernels?: boolean;
}

export interface BackendEntry<Name extends string = string> {
  /** The TRAINYARD_BACKEND value, and the tfjs backend name. */
  readonly name: Name;
  /** One line for the configuration docs. */
  readonly summary: string;
  /** Whether TRAINYARD_BACKEND=auto may pick it, and before which others (higher first); null: only when named. */
  readonly auto: { priority: number } | null;
  /** The most memory tensors may take on this backend (the wasm heap), or null where only the machine limits it. */
  readonly memoryCeilingBytes: number | null;
  /**
   * Loads the backend's package and makes it tfjs's backend. Throws, saying why, when it is not
   * available here (package absent, native library missing); must then leave tfjs as it was.
   */
  start(options?: StartOptions): Promise<Started>;
  /** trainyard's kernels for this backend (fused and gap-filling), registered after start(). */
  kernels(): Promise<readonly tf.KernelConfig[]>;
}

/** Makes `name` tfjs's backend, or throws. */
export async function useTfjsBackend(name: string): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

/** An error's first line, short enough for a log field and a reason text. */
export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 500);
}
