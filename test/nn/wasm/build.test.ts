import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasDataSection, kernelsBinaryUrl } from '../../../src/nn/wasm/heap.js';

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
