import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasDataSection, withSharedMemoryImport } from '../../../src/nn/wasm/binary.js';
import { kernelsBinaryUrl } from '../../../src/nn/wasm/heap.js';

const wasmDir = fileURLToPath(new URL('.', kernelsBinaryUrl));
const committed = readFileSync(kernelsBinaryUrl);
const recordedCompiler = readFileSync(path.join(wasmDir, 'trainyard-kernels.toolchain'), 'utf8').trim();

/** The first line of `clang --version` when clang, wasm-ld and wasm-objdump are installed, else null. */
function installedCompiler(): string | null {
  try {
    execFileSync('wasm-ld', ['--version'], { stdio: 'ignore' });
    execFileSync('wasm-objdump', ['--version'], { stdio: 'ignore' });
    return execFileSync('clang', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch {
    return null;
  }
}
const compiler = installedCompiler();

describe('the committed trainyard-kernels.wasm', () => {
  it('imports only its memory and has no data section (it runs on tfjs-wasm memory)', () => {
    const module = new WebAssembly.Module(committed);
    expect(WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}:${i.kind}`)).toEqual(['env.memory:memory']);
    expect(hasDataSection(committed)).toBe(false);
  });

  it('imports a shared memory once adapted for the threaded build, and works on one', () => {
    const shared = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
    expect(() => new WebAssembly.Instance(new WebAssembly.Module(committed), { env: { memory: shared } })).toThrow();
    const adapted = new WebAssembly.Module(withSharedMemoryImport(committed));
    expect(WebAssembly.Module.imports(adapted).map((i) => `${i.module}.${i.name}:${i.kind}`)).toEqual(['env.memory:memory']);
    const kernels = new WebAssembly.Instance(adapted, { env: { memory: shared } }).exports as { sgdm_update: (...args: number[]) => void };
    // w, v, g, wOut, vOut: 8 floats each from byte 0; v' = momentum v - lr (g + l2 w), w' = w + v'.
    const view = new Float32Array(shared.buffer, 0, 40);
    view.set([1, 2, 3, 4, 5, 6, 7, 8], 0);
    view.set([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 8);
    view.set([1, 1, 1, 1, 2, 2, 2, 2], 16);
    kernels.sgdm_update(0, 32, 64, 96, 128, 8, 0.1, 0.9, 0);
    const f = Math.fround;
    const expected = Array.from({ length: 8 }, (_, i) => f(f(0.5 * f(0.9)) - f((i < 4 ? 1 : 2) * f(0.1))));
    expect(Array.from(view.subarray(32, 40))).toEqual(expected);
  });

  // A different clang emits different (equally valid) bytes, so only the recorded one is compared.
  it.skipIf(compiler !== recordedCompiler)(`is what npm run build:wasm builds from c/*.c (with ${recordedCompiler})`, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'trainyard-wasm-'));
    try {
      const fresh = path.join(dir, 'kernels.wasm');
      execFileSync('sh', [path.join(wasmDir, 'build.sh'), fresh], { stdio: 'ignore' });
      expect(Buffer.compare(readFileSync(fresh), committed), 'rebuild with npm run build:wasm and commit the binary').toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
