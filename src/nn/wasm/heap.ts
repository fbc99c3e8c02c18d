import { readFileSync } from 'node:fs';
import type * as tf from '@tensorflow/tfjs-core';
import { hasDataSection, withSharedMemoryImport } from './binary.js';
import { KernelPool, MAX_PARTS, splitRange } from './kernel-pool.js';

/**
 * trainyard's C kernels (c/*.c, compiled to trainyard-kernels.wasm by build.sh) instantiated on the
 * tfjs wasm backend's own WebAssembly.Memory, so that they read and write tensors in place: a
 * tensor's data is at `offset(tensor)` in that memory, and outputs are allocated by the backend
 * (makeOutput) like those of its own kernels. The kernels keep no state, use no static data and no
 * stack (build.sh checks), and never grow the memory; only the backend's malloc does, and the
 * shared Memory object follows it.
 */
export interface KernelExports {
  elu_forward(x: number, alpha: number, z: number, rows: number, channels: number, alphaPerChannel: number): void;
  elu_backward(x: number, z: number, alpha: number, dz: number, dx: number, dalpha: number, rows: number, channels: number, alphaPerChannel: number, scratch: number): void;
  batch_norm_forward(x: number, gamma: number, beta: number, y: number, mean: number, variance: number, rows: number, channels: number, epsilon: number, scratch: number, scaleScratch: number): void;
  batch_norm_backward(x: number, dy: number, gamma: number, mean: number, variance: number, dx: number, dgamma: number, dbeta: number, rows: number, channels: number, epsilon: number, scratch: number, coefScratch: number): void;
  conv2d_backprop_filter(x: number, dy: number, dw: number, n: number, h: number, w: number, ci: number, oh: number, ow: number, coStride: number, kw: number, sh: number, sw: number, dilationH: number, dilationW: number, tapBegin: number, tapEnd: number): void;
  conv2d_forward(x: number, packedFilter: number, bias: number, out: number, h: number, w: number, ci: number, oh: number, ow: number, co: number, kh: number, kw: number, sh: number, sw: number, dilationH: number, dilationW: number, rowBegin: number, rowEnd: number): void;
  conv2d_forward_pack_filter(filter: number, packed: number, taps: number, co: number): void;
  spread_pad_nhwc(dy: number, out: number, n: number, oh: number, ow: number, c: number, sh: number, sw: number, top: number, left: number, ph: number, pw: number): void;
  scatter_phase(part: number, dx: number, n: number, ph: number, pw: number, c: number, h: number, w: number, a: number, b: number, sh: number, sw: number): void;
  filter_tap_panels(w: number, panels: number, taps: number, ci: number, co: number, ciStride: number): void;
  conv_input_gradient(dy: number, panels: number, dx: number, h: number, w: number, ci: number, oh: number, ow: number, co: number, ciStride: number, kh: number, kw: number, sh: number, sw: number, dilationH: number, dilationW: number, top: number, left: number, imageBegin: number, imageEnd: number): void;
  flip_filter(w: number, out: number, kw: number, ci: number, co: number, r0: number, c0: number, sh: number, sw: number, mh: number, mw: number): void;
  max_pool_grad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number): void;
  expression_run(frame: number, nCode: number, nConst: number, nIn: number, nOut: number, nReg: number, rows: number, channels: number, blockPixels: number, scratch: number): void;
  activation_forward(kind: number, x: number, y: number, n: number, alpha: number): void;
  activation_grad(kind: number, x: number, dy: number, dx: number, n: number, a: number, b: number): void;
  avg_pool_grad(dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number): void;
  copy_rows(src: number, srcStride: number, dst: number, dstStride: number, rows: number, width: number): void;
  pad_nhwc(x: number, out: number, n: number, h: number, w: number, c: number, top: number, bottom: number, left: number, right: number): void;
  channel_sums(x: number, out: number, rows: number, channels: number, scratch: number): void;
  spatial_mean(x: number, out: number, n: number, hw: number, c: number): void;
  spatial_mean_grad(dy: number, dx: number, n: number, hw: number, c: number): void;
  matmul_at_b(a: number, b: number, out: number, m: number, k: number, n: number): void;
  sgdm_update(w: number, v: number, g: number, wOut: number, vOut: number, n: number, lr: number, momentum: number, l2: number): void;
}

/**
 * What trainyard uses of tfjs-backend-wasm's BackendWasm (4.22): its emscripten module and tensor
 * storage. The single-threaded build exports its memory (asm.memory); the threaded build creates
 * a shared one and imports it (wasmMemory).
 */
export interface WasmBackendInternals {
  wasm: { asm: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory; _malloc(bytes: number): number; _free(pointer: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

export const kernelsBinaryUrl = new URL('./trainyard-kernels.wasm', import.meta.url);

/** The backend's memory, whichever build of tfjs-backend-wasm runs. */
export function backendMemory(backend: WasmBackendInternals): WebAssembly.Memory {
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm.memory;
  if (!memory) throw new Error('tfjs-backend-wasm\'s memory was not found (asm.memory nor wasmMemory)');
  return memory;
}

/** Parts a thread of the pool: enough for the others to take over a thread the scheduler parked. */
const PARTS_PER_THREAD = 4;

const compiled = new Map<boolean, WebAssembly.Module>();
const instances = new WeakMap<object, Heap>();

/** The kernels and the backend's memory, for one wasm backend instance. */
export class Heap {
  /**
   * Below this much work a part (about 0.1-0.2 ms), handing it to the pool costs more than it
   * saves (runSplit). Tests lower it to split small shapes.
   */
  static minWorkPerPart = 250_000;

  private pool: KernelPool | null = null;

  private constructor(
    private readonly backend: WasmBackendInternals,
    readonly kernels: KernelExports,
  ) {}

  static of(backend: object): Heap {
    let heap = instances.get(backend);
    if (!heap) {
      const internals = backend as unknown as WasmBackendInternals;
      const memory = backendMemory(internals);
      const instance = new WebAssembly.Instance(kernelsModule(memory.buffer instanceof SharedArrayBuffer), { env: { memory } });
      heap = new Heap(internals, instance.exports as unknown as KernelExports);
      instances.set(backend, heap);
    }
    return heap;
  }

  /**
   * Lets the kernels of `backend` (tfjs's threaded build, on a shared memory) split their work
   * over `threads` threads: the calling one and a pool of helpers (src/nn/wasm/kernel-pool.ts).
   */
  static useThreads(backend: object, threads: number): void {
    const heap = Heap.of(backend);
    if (heap.pool || threads < 2) return;
    const memory = backendMemory(heap.backend);
    if (!(memory.buffer instanceof SharedArrayBuffer)) throw new Error('trainyard\'s kernels run on several threads only on a shared memory');
    heap.pool = KernelPool.start(kernelsModule(true), memory, threads - 1);
  }

  /** Threads a kernel's call may be split over (runParts). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /**
   * Runs kernel `name` over the indices [0, total) (images, taps, values) in ranges of whole
   * `granule`s; `argsFor` gives a range's arguments. With a pool, in up to PARTS_PER_THREAD parts
   * a thread (the threads take them as they come free), each at least minWorkPerPart of `work`
   * (values touched or products, about a nanosecond each).
   */
  runSplit<K extends keyof KernelExports>(name: K, total: number, work: number, argsFor: (begin: number, end: number) => Parameters<KernelExports[K]>, granule = 1): void {
    const parts = this.pool ? Math.max(1, Math.min(MAX_PARTS, PARTS_PER_THREAD * this.threads, Math.floor(work / Heap.minWorkPerPart))) : 1;
    this.runParts(name, splitRange(total, parts, granule).map(([begin, end]) => argsFor(begin, end)));
  }

  /**
   * Runs kernel `name` once per argument list in `parts` (at most MAX_PARTS; they must write
   * disjoint memory), at once on the pool's threads where there is a pool, else one after another.
   */
  runParts<K extends keyof KernelExports>(name: K, parts: Parameters<KernelExports[K]>[]): void {
    if (this.pool && parts.length > 1) return this.pool.run(name, parts, this.kernels);
    for (const part of parts) (this.kernels[name] as (...args: number[]) => void)(...part);
  }

  /**
   * x [n, h, w, c] zero-padded by [top, bottom, left, right] into [n, h + top + bottom, w + left +
   * right, c] at byte `out` (scratch of a convolution kernel), split by images over the pool.
   */
  padNhwc(x: tf.TensorInfo, out: number, [top, bottom, left, right]: [number, number, number, number]): void {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    const [ph, pw] = [h + top + bottom, w + left + right];
    const [xOffset, image, paddedImage] = [this.offset(x), 4 * h * w * c, 4 * ph * pw * c];
    this.runSplit('pad_nhwc', n, n * ph * pw * c, (b, e) => [xOffset + b * image, out + b * paddedImage, e - b, h, w, c, top, bottom, left, right]);
  }

  /** Byte offset of a tensor's data in the backend's memory. */
  offset(t: tf.TensorInfo): number {
    const data = this.backend.dataIdMap.get(t.dataId);
    if (!data) throw new Error('tensor data is not on the wasm backend');
    return data.memoryOffset;
  }

  /** The backend's memory (a module of one's own instantiates on it, as the kernels are). */
  get memory(): WebAssembly.Memory {
    return backendMemory(this.backend);
  }

  /** A view of `length` float32 values at `pointer` in the backend's memory (valid until it next grows). */
  floats(pointer: number, length: number): Float32Array {
    return new Float32Array(backendMemory(this.backend).buffer, pointer, length);
  }

  /** A view of `length` float64 values at `pointer` (8-byte aligned) in the backend's memory (valid until it next grows). */
  doubles(pointer: number, length: number): Float64Array {
    return new Float64Array(backendMemory(this.backend).buffer, pointer, length);
  }

  /** A view of `length` int32 values at `pointer` in the backend's memory (for a kernel's arguments). */
  ints(pointer: number, length: number): Int32Array {
    return new Int32Array(backendMemory(this.backend).buffer, pointer, length);
  }

  /** A new float32 output tensor of the backend (uninitialised). */
  output(shape: number[]): tf.TensorInfo {
    return this.backend.makeOutput(shape, 'float32');
  }

  /**
   * Runs fn with new float32 tensors of the backend of these shapes (uninitialised), disposed
   * afterwards: intermediates that a kernel hands to another of the backend's kernels.
   */
  withTemporaries<T>(shapes: number[][], fn: (temporaries: tf.TensorInfo[]) => T): T {
    const temporaries = shapes.map((shape) => this.output(shape));
    try {
      return fn(temporaries);
    } finally {
      for (const t of temporaries) this.backend.disposeData(t.dataId);
    }
  }

  /** Runs fn with `bytes` of scratch memory (16-byte aligned, uninitialised), freed afterwards. */
  withScratch<T>(bytes: number, fn: (pointer: number) => T): T {
    const pointer = this.backend.wasm._malloc(Math.max(16, bytes));
    try {
      return fn(pointer);
    } finally {
      this.backend.wasm._free(pointer);
    }
  }
}

/** The kernels, compiled once for a plain memory and once for a shared one (the threaded build's). */
function kernelsModule(shared: boolean): WebAssembly.Module {
  const known = compiled.get(shared);
  if (known) return known;
  const binary = readFileSync(kernelsBinaryUrl);
  // A data segment would be written over tfjs's heap at instantiation (build.sh refuses to produce one).
  if (hasDataSection(binary)) {
    throw new Error(`${kernelsBinaryUrl.pathname} has a data section; rebuild it with npm run build:wasm`);
  }
  const module = new WebAssembly.Module(shared ? withSharedMemoryImport(binary) : binary);
  const imports = WebAssembly.Module.imports(module);
  if (imports.length !== 1 || imports[0]!.kind !== 'memory') throw new Error(`${kernelsBinaryUrl.pathname} must import its memory and nothing else`);
  compiled.set(shared, module);
  return module;
}
