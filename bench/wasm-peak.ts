/**
 * The most floating-point work WebAssembly's 128-bit SIMD can do on this machine: a loop of
 * independent f32x4 multiply-then-add chains that never touches memory, run on one thread and on
 * several at once. No kernel of ours, XNNPACK's or anyone's can multiply faster than this on wasm,
 * so a network's training FLOPs divided by it is the floor under its time on wasm
 * (bench/train-zoo.ts prints it beside PyTorch's time).
 *
 * The module is written here byte by byte (about 150 bytes) so that the bench needs no
 * WebAssembly toolchain. Plain wasm SIMD has no fused multiply-add, so each step is a mul and an
 * add; CHAINS independent chains hide their latency (mul then add, about 6 cycles on current x86
 * cores) while staying within 16 vector registers.
 */
import { Worker } from 'node:worker_threads';
import { section, uleb } from '../src/nn/wasm/wasm-encoding.js';

const CHAINS = 12;
const FLOPS_PER_STEP = CHAINS * 4 * 2;

const f32 = (v: number) => [...new Uint8Array(new Float32Array([v]).buffer)];
const simd = (op: number) => [0xfd, ...uleb(op)];
const [F32X4_SPLAT, F32X4_EXTRACT_LANE, F32X4_ADD, F32X4_MUL] = [0x13, 0x1f, 0xe4, 0xe6];
const [LOCAL_GET, LOCAL_SET, LOCAL_TEE, I32_CONST, I32_SUB, LOOP, BR_IF, END, F32_CONST] = [0x20, 0x21, 0x22, 0x41, 0x6b, 0x03, 0x0d, 0x0b, 0x43];

/** (steps: i32) -> f32: runs `steps` steps of acc_i = acc_i * x + y over CHAINS accumulators and returns a lane of their sum (so nothing is dead code). */
function peakModule(): Uint8Array {
  // Locals after the parameter (0): accumulators 1..CHAINS, then x and y.
  const [x, y] = [CHAINS + 1, CHAINS + 2];
  const splat = (local: number, v: number) => [F32_CONST, ...f32(v), ...simd(F32X4_SPLAT), LOCAL_SET, local];
  const body: number[] = [];
  for (let i = 1; i <= CHAINS; i++) body.push(...splat(i, i / CHAINS));
  body.push(...splat(x, 0.999), ...splat(y, 0.001));
  body.push(LOOP, 0x40);
  for (let i = 1; i <= CHAINS; i++) body.push(LOCAL_GET, i, LOCAL_GET, x, ...simd(F32X4_MUL), LOCAL_GET, y, ...simd(F32X4_ADD), LOCAL_SET, i);
  body.push(LOCAL_GET, 0, I32_CONST, 1, I32_SUB, LOCAL_TEE, 0, BR_IF, 0, END);
  body.push(LOCAL_GET, 1);
  for (let i = 2; i <= CHAINS; i++) body.push(LOCAL_GET, i, ...simd(F32X4_ADD));
  body.push(...simd(F32X4_EXTRACT_LANE), 0, END);
  const locals = [1, ...uleb(CHAINS + 2), 0x7b]; // one group of v128 locals
  const code = [...uleb(locals.length + body.length), ...locals, ...body];
  const name = [...new TextEncoder().encode('peak')];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]), // type 0: (i32) -> f32
    ...section(3, [1, 0]),
    ...section(7, [1, name.length, ...name, 0x00, 0]),
    ...section(10, [1, ...code]),
  ]);
}

/**
 * Runs in each thread: compiles the module, warms it up (V8 tiers it up), waits at the barrier so
 * that all threads multiply at the same time, then times `steps` steps.
 */
const threadSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { bytes, steps, barrier } = workerData;
const peak = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.peak;
peak(steps / 4);
parentPort.postMessage('ready');
Atomics.wait(new Int32Array(barrier), 0, 0);
const started = performance.now();
peak(steps);
parentPort.postMessage(performance.now() - started);
`;

/** GFLOP/s of `threads` threads multiplying at once (their sum), best of `rounds`. */
export async function wasmPeakGflops(threads: number, { steps = 20_000_000, rounds = 3 } = {}): Promise<number> {
  const bytes = peakModule();
  let best = 0;
  for (let round = 0; round < rounds; round++) {
    const barrier = new SharedArrayBuffer(4);
    const workers = Array.from({ length: threads }, () => new Worker(threadSource, { eval: true, workerData: { bytes, steps, barrier } }));
    const next = (worker: Worker) => new Promise<unknown>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await Promise.all(workers.map(next));
    const times = workers.map(next) as Promise<number>[];
    Atomics.store(new Int32Array(barrier), 0, 1);
    Atomics.notify(new Int32Array(barrier), 0);
    const slowest = Math.max(...(await Promise.all(times)));
    await Promise.all(workers.map((worker) => worker.terminate()));
    best = Math.max(best, (threads * steps * FLOPS_PER_STEP) / slowest / 1e6);
  }
  return best;
}
