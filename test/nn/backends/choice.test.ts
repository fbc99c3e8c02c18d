import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url).pathname;

/** Runs initBackend(preference) in a fresh process (a process chooses once) and returns what it printed or threw. */
function choose(preference: string): { info?: Record<string, unknown>; ceiling?: number | null; kernels?: number; error?: string } {
  const script = `
    import * as tf from '@tensorflow/tfjs-core';
    import { activeBackend, initBackend } from './src/nn/backend.ts';
    try {
      const info = await initBackend(${JSON.stringify(preference)});
      const check = tf.getBackend() === info.name ? null : 'tfjs uses ' + tf.getBackend();
      console.log(JSON.stringify({ info, check, ceiling: activeBackend().memoryCeilingBytes, kernels: tf.getKernelsForBackend(info.name).filter((k) => k.kernelName.startsWith('Trainyard')).length }));
    } catch (err) {
      console.log(JSON.stringify({ error: err.message }));
    }`;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  const result = JSON.parse(out.trim().split('\n').pop()!);
  expect(result.check ?? null).toBeNull();
  return result;
}

const nativeInstalled = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((pkg) => {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
});

describe.skipIf(nativeInstalled)('choosing the backend without the native packages', () => {
  it('auto picks wasm, registers its kernels and says what it tried', () => {
    const { info, ceiling, kernels } = choose('auto');
    expect(info).toMatchObject({ name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'cpu' });
    expect(info!.reason).toMatch(/^auto: wasm .*not available: tensorflow .*@tensorflow\/tfjs-node-gpu.*@tensorflow\/tfjs-node:/);
    // webgpu was tried before wasm and refused: no adapter, or (with Mesa's lavapipe installed, as in CI) only a software one.
    expect(info!.reason).toMatch(/not available: .*webgpu \((Dawn found no WebGPU adapter|only a software adapter \(.*\), slower than wasm; name TRAINYARD_BACKEND=webgpu to use it)\)/);
    expect(ceiling).toBeGreaterThan(0);
    expect(kernels).toBeGreaterThan(0);
  });

  it('runs the pure-JS cpu backend when named, with no trainyard kernels', () => {
    const { info, ceiling, kernels } = choose('cpu');
    expect(info).toEqual({ name: 'cpu', package: '@tensorflow/tfjs-backend-cpu', device: 'cpu', reason: 'TRAINYARD_BACKEND=cpu: pure JavaScript, slow', compilesKernels: false });
    expect(ceiling).toBeNull();
    expect(kernels).toBe(0);
  });

  it('refuses tensorflow without its package, naming both packages', () => {
    const { error } = choose('tensorflow');
    expect(error).toMatch(/^TRAINYARD_BACKEND=tensorflow, but no backend could start: tensorflow \(no native TensorFlow package could be loaded \(@tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: /);
  });
});
