import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-core registers no gradients by itself; the tfjs-layers bundle registers all of them.
import '@tensorflow/tfjs-layers';
import { registerWasmKernels } from './kernels/index.js';

/**
 * Picks the tfjs backend once per process. 'auto' prefers native TensorFlow (tfjs-node-gpu, then
 * tfjs-node: optional packages, installed in the Docker images) and otherwise wasm. The pure-JS
 * cpu backend is hundreds of times slower, so it is used only when asked for by name.
 */
export type BackendPreference = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The tfjs backend name. */
  name: 'tensorflow' | 'wasm' | 'cpu';
  /** The package that provides it. */
  package: string;
  device: 'gpu' | 'cpu';
  /** Why this one: what was asked for and what was tried. */
  reason: string;
}

const nativePackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

let chosen: { preference: BackendPreference; info: Promise<BackendInfo> } | null = null;

export function initBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  if (chosen && chosen.preference !== preference) {
    throw new Error(`the backend was already chosen with preference '${chosen.preference}'; it cannot change to '${preference}' in the same process`);
  }
  chosen ??= { preference, info: choose(preference) };
  return chosen.info;
}

async function choose(preference: BackendPreference): Promise<BackendInfo> {
  const tried: string[] = [];
  if (preference === 'auto' || preference === 'tensorflow') {
    for (const pkg of nativePackages) {
      try {
        await import(pkg);
        await use('tensorflow');
        const gpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
        return { name: 'tensorflow', package: pkg, device: gpu ? 'gpu' : 'cpu', reason: reasonText(preference, tried, `${pkg} loaded`) };
      } catch (err) {
        tried.push(`${pkg}: ${firstLine(err)}`);
      }
    }
    if (preference === 'tensorflow') {
      throw new Error(`TRAINYARD_BACKEND=tensorflow, but no native TensorFlow package could be loaded (${tried.join('; ')})`);
    }
  }
  if (preference === 'cpu') {
    await use('cpu');
    return { name: 'cpu', package: '@tensorflow/tfjs-backend-cpu', device: 'cpu', reason: 'TRAINYARD_BACKEND=cpu (pure JavaScript, slow)' };
  }
  try {
    await use('wasm');
  } catch (err) {
    throw new Error(`the wasm backend failed to start (${firstLine(err)}); set TRAINYARD_BACKEND=cpu to train on the slow pure-JS backend deliberately`);
  }
  registerWasmKernels();
  return { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'cpu', reason: reasonText(preference, tried, 'wasm (XNNPACK, SIMD)') };
}

async function use(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
}

function reasonText(preference: BackendPreference, tried: string[], outcome: string): string {
  const asked = preference === 'auto' ? 'auto' : `TRAINYARD_BACKEND=${preference}`;
  return tried.length > 0 ? `${asked}: ${outcome}; not available: ${tried.join('; ')}` : `${asked}: ${outcome}`;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.slice(0, 200);
}
