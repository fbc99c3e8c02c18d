import { Worker } from 'node:worker_threads';
import type { KernelExports } from './heap.js';

/**
 * trainyard's C kernels on more than one thread, for tfjs-backend-wasm's threaded build: each
 * helper is a Node worker thread with its own instance of the kernels module on the backend's
 * shared memory, so a kernel's call can be split into parts that write disjoint memory (ranges of
 * a filter gradient's taps, of a batch's images) and run at once. tfjs's pthreadpool cannot be
 * reached from a second module (its C entry points are not exported), hence a pool of our own;
 * the two never run together: the calling thread hands parts to the helpers, runs its own, and
 * waits for theirs, while XNNPACK's threads sleep (its calls return only when done). So a backend
 * of `threads` threads keeps at most `threads` cores busy.
 *
 * Hand-off over a small SharedArrayBuffer per helper (Atomics.wait/notify): a part's kernel index
 * and arguments, a sequence number the helper waits on, and the sequence it finished with a status.
 * The helpers are unref'd and block in Atomics.wait between calls, so they cost no CPU when idle
 * and never keep a finished process alive.
 */
const SEQUENCE = 0;
const FINISHED = 1;
const KERNEL = 2;
const ARG_COUNT = 3;
const STATUS = 4;
const MAX_ARGS = 24;

/** The helper's code, evaluated as a CommonJS worker (no loader needed, in tests and in dist alike). */
const helperSource = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, args, names } = workerData;
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
const c = new Int32Array(control);
const a = new Float64Array(args);
let seen = 0;
for (;;) {
  Atomics.wait(c, ${SEQUENCE}, seen);
  seen = Atomics.load(c, ${SEQUENCE});
  try {
    kernels[names[c[${KERNEL}]]](...a.subarray(0, c[${ARG_COUNT}]));
    c[${STATUS}] = 0;
  } catch (err) {
    c[${STATUS}] = 1;
  }
  Atomics.store(c, ${FINISHED}, seen);
  Atomics.notify(c, ${FINISHED});
}
`;

type KernelName = keyof KernelExports;

interface Helper {
  worker: Worker;
  control: Int32Array;
  args: Float64Array;
  sequence: number;
}

export class KernelPool {
  private constructor(
    private readonly helpers: Helper[],
    /** The module's exports in the order the helpers index them. */
    private readonly names: KernelName[],
  ) {}

  /** A pool of `helpers` threads running `module` (the kernels compiled for a shared memory) on `memory`. */
  static start(module: WebAssembly.Module, memory: WebAssembly.Memory, helpers: number): KernelPool {
    const names = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name as KernelName);
    const started = Array.from({ length: helpers }, (): Helper => {
      const control = new SharedArrayBuffer(4 * 8);
      const args = new SharedArrayBuffer(8 * MAX_ARGS);
      const worker = new Worker(helperSource, { eval: true, workerData: { module, memory, control, args, names } });
      worker.unref();
      return { worker, control: new Int32Array(control), args: new Float64Array(args), sequence: 0 };
    });
    return new KernelPool(started, names);
  }

  /** Threads a call can be split over: the calling thread and the helpers. */
  get threads(): number {
    return this.helpers.length + 1;
  }

  /**
   * Runs kernel `name` once per argument list in `parts` (at most `threads` of them; they must
   * write disjoint memory): the first on `own` (the calling thread's instance), the others on the
   * helpers, and returns when all are done.
   */
  run(name: KernelName, parts: number[][], own: KernelExports): void {
    if (parts.length > this.threads) throw new Error(`${parts.length} parts for a pool of ${this.threads} threads`);
    const kernel = this.names.indexOf(name);
    const handed = this.helpers.slice(0, parts.length - 1);
    for (const [i, helper] of handed.entries()) {
      const part = parts[i + 1]!;
      if (part.length > MAX_ARGS) throw new Error(`${name} has more than ${MAX_ARGS} arguments`);
      helper.args.set(part);
      helper.control[KERNEL] = kernel;
      helper.control[ARG_COUNT] = part.length;
      helper.sequence += 1;
      Atomics.store(helper.control, SEQUENCE, helper.sequence);
      Atomics.notify(helper.control, SEQUENCE);
    }
    let failure: unknown = null;
    try {
      (own[name] as (...args: number[]) => void)(...parts[0]!);
    } catch (err) {
      failure = err;
    }
    // Every helper is waited for even after a failure here: none may still write when this returns.
    for (const helper of handed) {
      while (Atomics.load(helper.control, FINISHED) !== helper.sequence) Atomics.wait(helper.control, FINISHED, Atomics.load(helper.control, FINISHED));
      if (helper.control[STATUS] !== 0) failure ??= new Error(`trainyard's kernel ${name} failed on a pool thread`);
    }
    if (failure) throw failure;
  }
}

/** [begin, end) ranges of 0..total in at most `parts` pieces, each a multiple of `granule` long (but the last). */
export function splitRange(total: number, parts: number, granule = 1): [number, number][] {
  const units = Math.ceil(total / granule);
  const pieces = Math.max(1, Math.min(parts, units));
  return Array.from({ length: pieces }, (_, i): [number, number] => [
    Math.min(total, Math.floor((units * i) / pieces) * granule),
    Math.min(total, Math.floor((units * (i + 1)) / pieces) * granule),
  ]);
}
