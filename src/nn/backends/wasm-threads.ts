/**
 * Starts tfjs-backend-wasm 4.22's threaded SIMD build (XNNPACK over a pthreadpool of worker
 * threads on a shared memory) in Node, which tfjs itself does not do
 * (https://github.com/tensorflow/tfjs/issues/3830). Its emscripten glue runs in Node; four things
 * stand in the way, each bridged here only while the backend starts:
 * - tfjs reports no thread support under Node (flag WASM_HAS_MULTITHREAD_SUPPORT): set it.
 * - The pthread worker's script and the module's main script are handed over as Blob URLs, which
 *   Node's worker_threads cannot load: their text is written to files in a temporary folder (the
 *   worker gets the path; its loader is pointed at the main script's file) and removed once the
 *   workers have loaded them (all eight of emscripten's pool load at start).
 * - The main script, evaluated in the worker, refers to the bundle's module variables (fs, path,
 *   perf_hooks, os, the global object, __dirname): the worker's prelude defines them.
 * - tfjs caps its pool at half the logical cores (it counts hyperthreads twice) and at 8: it
 *   counts the cores while the module starts, so os.cpus() answers twice `threads` then.
 * The workers are unref'd afterwards, so that they never keep a finished process alive.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** What this file touches of the threaded build's emscripten module. */
interface ThreadedModule {
  PThread?: { unusedWorkers: { unref(): void }[]; runningWorkers: { unref(): void }[] };
}

/** emscripten's worker pool in tfjs's build: the most threads the pool can have. */
export const MAX_WASM_THREADS = 8;

const MAIN_SCRIPT_PREFIX = 'var WasmBackendModuleThreadedSimd';

/** Runs `start` (which starts the wasm backend) so that it starts the threaded build with `threads` threads. */
export async function withWasmThreads(threads: number, start: () => Promise<void>): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const folder = mkdtempSync(path.join(os.tmpdir(), 'trainyard-wasm-threads-'));
  const mainScript = path.join(folder, 'main.cjs');
  const texts = new WeakMap<Blob, string>();
  const NativeBlob = globalThis.Blob;
  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  globalThis.Blob = class RecordedBlob extends NativeBlob {
    constructor(...args: ConstructorParameters<typeof Blob>) {
      super(...args);
      const [parts] = args;
      if (parts?.every((p) => typeof p === 'string')) {
        const text = parts.join('');
        texts.set(this, text);
        if (text.startsWith(MAIN_SCRIPT_PREFIX)) writeFileSync(mainScript, text);
      }
    }
  };
  URL.createObjectURL = (blob: Blob) => {
    const text = texts.get(blob);
    if (text === undefined || text.startsWith(MAIN_SCRIPT_PREFIX)) return createObjectURL(blob);
    const file = path.join(folder, 'worker.cjs');
    writeFileSync(file, workerPrelude(folder) + text + workerLoaderFor(mainScript));
    return file;
  };
  os.cpus = () => Array.from({ length: 2 * threads }, () => cpus()[0]!);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  try {
    await start();
  } finally {
    globalThis.Blob = NativeBlob;
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
    rmSync(folder, { recursive: true, force: true });
  }
  const module = (tf.backend() as unknown as { wasm: ThreadedModule }).wasm;
  if (!module.PThread) throw new Error('tfjs-backend-wasm started without threads');
  for (const worker of [...module.PThread.unusedWorkers, ...module.PThread.runningWorkers]) worker.unref();
  const running = wasm.getThreadsCount();
  if (running !== threads) throw new Error(`tfjs-backend-wasm started ${running} threads, not ${threads}`);
}

/** The bundle's module variables that the main script refers to, as globals of the worker. */
function workerPrelude(folder: string): string {
  return `Object.assign(globalThis, { require$$0: require('fs'), require$$1: require('path'), require$$3: require('perf_hooks'), require$$4: require('os'), commonjsGlobal: globalThis, __dirname: ${JSON.stringify(folder)} });\n`;
}

/** After the worker script: its loader reads the main script's file where it is given a Blob URL. */
function workerLoaderFor(mainScript: string): string {
  return `\n{ const load = globalThis.importScripts; globalThis.importScripts = (f) => load(String(f).startsWith('blob:') ? ${JSON.stringify(mainScript)} : f); }\n`;
}
