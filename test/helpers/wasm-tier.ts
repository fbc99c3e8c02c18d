import v8 from 'node:v8';

/**
 * Makes V8 compile wasm modules instantiated from now on with its optimising tier (TurboFan) only.
 * By default a module starts in the baseline tier (Liftoff) and hot functions move up later, so a
 * short test would only ever check baseline code; trainyard's kernels once gave right results in
 * Liftoff and wrong ones after tier-up (see src/nn/wasm/c/simd.h). Call it before the first kernel
 * runs; vitest gives each test file its own process, so it stays in that file.
 */
export function compileWasmWithOptimizingTierOnly(): void {
  v8.setFlagsFromString('--no-liftoff');
}
