import { Worker } from 'node:worker_threads';
import type { KernelExports } from './heap.js';

/**
 * trainyard's C kernels on more than one thread, for tfjs-backend-wasm's threaded build: each
 * helper is a Node worker thread with its own instance of the kernels module on the backend's
 * shared memory, so a kernel's call can be split into parts that write disjoint memory (ranges of
 * a filter gradient's taps, of a batch's images) and run at once. tfjs's pthreadpool cannot be
 * reached from a second module (its C entry points are not exported), hence a pool of our own;
 * the two never run together: a call returns only when its parts are done, and XNNPACK's threads
 * sleep meanwhile (its calls, too, return only when done). So a backend of `threads` threads keeps
 * at most `threads` cores busy.
 *
 * Parts are handed out dynamically: the calling thread and every helper take the next part from
 * a shared counter until none is left, so a helper the scheduler has parked (a busy machine) is
 * never waited for: the others take its parts, and only a part already started is waited on (on
 * an oversubscribed machine, one fixed part a thread waited for parked threads: README,
 * "Kernel pool"). One SharedArrayBuffer holds the control words (Atomics.wait/notify on a
 * call's sequence number and on the count of finished parts) and another every part's arguments.
 * The helpers are unref'd and block in Atomics.wait between calls, so they cost no CPU when idle
 * and never keep a finished process alive.
 */
const SEQUENCE = 0;
/** The call's number (low 23 bits) times 256 plus its next part: one atomic add takes a part of one known call. */
const NEXT = 1;
const FINISHED = 2;
/** The call's number times 256 plus its count of parts, written before NEXT opens the call. */
const CALL = 3;
const KERNEL = 4;
const ARG_COUNT = 5;
const FAILED = 6;
const CONTROL_WORDS = 7;
const MAX_ARGS = 24;
/**
 * The most parts one call may have. A call sees at most its parts plus one add a thread on NEXT
 * (each thread's last, which finds none left), so the part index never reaches 256 and carries
 * into the call's number.
 */
export const MAX_PARTS = 64;
const CALL_NUMBERS = 1 << 23;

/**
 * Takes parts until none is left (the helpers' loop and the calling thread's share, the same
 * code). A thread that took its last add in an earlier call sees another call's number and stops:
 * it can never run a part of a call it did not take from that call's own counter.
 */
const takeParts = `(c, a, call) => {
  for (;;) {
    const taken = Atomics.add(c, ${NEXT}, 1);
    const current = Atomics.load(c, ${CALL});
    const total = current & 255;
    const i = taken & 255;
    if (taken >>> 8 !== current >>> 8 || i >= total) return;
    try {
      call(c[${KERNEL}], a.subarray(i * ${MAX_ARGS}, i * ${MAX_ARGS} + c[${ARG_COUNT}]));
    } catch (err) {
      Atomics.store(c, ${FAILED}, 1);
    }
    if (Atomics.add(c, ${FINISHED}, 1) + 1 === total) Atomics.notify(c, ${FINISHED});
  }
}`;
const takeOn = new Function(`return ${takeParts};`)() as (c: Int32Array, a: Float64Array, call: (kernel: number, args: Float64Array) => void) => void;

/** The helper's code, evaluated as a CommonJS worker (no loader needed, in tests and in dist alike). */
const helperSource = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, args, names } = workerData;
const kernels = new WebAssembly.Instance(module, { env: { memory } }).exports;
const c = new Int32Array(control);
const a = new Float64Array(args);
const take = ${takeParts};
const call = (kernel, part) => kernels[names[kernel]](...part);
let seen = 0;
for (;;) {
  Atomics.wait(c, ${SEQUENCE}, seen);
  seen = Atomics.load(c, ${SEQUENCE});
  take(c, a, call);
}
`;

type KernelName = keyof KernelExports;

export class KernelPool {
  private calls = 0;

  private constructor(
    private readonly workers: Worker[],
    private readonly control: Int32Array,
    private readonly args: Float64Array,
    /** The module's exports in the order the helpers index them. */
    private readonly names: KernelName[],
  ) {}

  /** A pool of `helpers` threads running `module` (the kernels compiled for a shared memory) on `memory`. */
  static start(module: WebAssembly.Module, memory: WebAssembly.Memory, helpers: number): KernelPool {
    const names = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name as KernelName);
    const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_WORDS));
    const args = new Float64Array(new SharedArrayBuffer(8 * MAX_ARGS * MAX_PARTS));
    const workers = Array.from({ length: helpers }, () => {
      const worker = new Worker(helperSource, { eval: true, workerData: { module, memory, control: control.buffer, args: args.buffer, names } });
      worker.unref();
      return worker;
    });
    return new KernelPool(workers, control, args, names);
  }

  /** Threads a call can be split over: the calling thread and the helpers. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs kernel `name` once per argument list in `parts` (at most MAX_PARTS; they must write
   * disjoint memory) on the calling thread (`own`, its instance) and the helpers, and returns when
   * all are done.
   */
  run(name: KernelName, parts: number[][], own: KernelExports): void {
    if (parts.length > MAX_PARTS) throw new Error(`${parts.length} parts, more than ${MAX_PARTS}`);
    const c = this.control;
    const argCount = parts[0]?.length ?? 0;
    if (argCount > MAX_ARGS || parts.some((p) => p.length !== argCount)) throw new Error(`${name}'s parts must have the same arguments, at most ${MAX_ARGS}`);
    for (const [i, part] of parts.entries()) this.args.set(part, i * MAX_ARGS);
    this.calls = (this.calls + 1) % CALL_NUMBERS;
    c[KERNEL] = this.names.indexOf(name);
    c[ARG_COUNT] = argCount;
    c[FAILED] = 0;
    c[FINISHED] = 0;
    Atomics.store(c, CALL, this.calls * 256 + parts.length);
    Atomics.store(c, NEXT, this.calls * 256);
    Atomics.add(c, SEQUENCE, 1);
    Atomics.notify(c, SEQUENCE);
    takeOn(c, this.args, (_, part) => (own[name] as (...args: number[]) => void)(...part));
    // Only parts a helper has started are left: wait for them, so that none still writes when this returns.
    for (let finished = Atomics.load(c, FINISHED); finished < parts.length; finished = Atomics.load(c, FINISHED)) Atomics.wait(c, FINISHED, finished);
    if (c[FAILED] !== 0) throw new Error(`trainyard's kernel ${name} failed on one of its parts`);
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
