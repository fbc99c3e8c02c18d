// tfjs-layers registers tfjs's gradients, which registerKernels overrides; in a worker train.ts imports it before any backend starts.
import '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import type { BackendEntry, Started } from '../../../src/nn/backends/entry.js';
import { autoOrder, backendEntries, backendPreferences, chooseBackend } from '../../../src/nn/backend.js';

/** A fake entry that starts (reporting `started`) or throws `fails`, and records that it was tried. */
function fake(name: string, auto: number | null, outcome: { fails: string } | { started?: Partial<Started> }, log: string[] = []): BackendEntry {
  return {
    name,
    summary: `fake ${name}`,
    auto: auto === null ? null : { priority: auto },
    memoryCeilingBytes: null,
    async start() {
      log.push(name);
      if ('fails' in outcome) throw new Error(`${outcome.fails}\nsecond line`);
      return { package: `pkg-${name}`, device: 'cpu', outcome: `${name} up`, ...outcome.started };
    },
    async kernels() {
      return [];
    },
  };
}

describe('the backend registry', () => {
  it('orders auto by priority, highest first, leaving out entries auto may not pick', () => {
    const entries = [fake('low', 1, {}), fake('named', null, {}), fake('high', 9, {}), fake('mid', 5, {})];
    expect(autoOrder(entries).map((e) => e.name)).toEqual(['high', 'mid', 'low']);
  });

  it('auto takes the first entry that starts and names what it tried before', async () => {
    const log: string[] = [];
    const entries = [fake('slow', null, {}, log), fake('fallback', 1, {}, log), fake('native', 9, { fails: 'package absent' }, log)];
    const { entry, info } = await chooseBackend(entries, 'auto');
    expect(entry.name).toBe('fallback');
    expect(log).toEqual(['native', 'fallback']);
    expect(info).toEqual({ name: 'fallback', package: 'pkg-fallback', device: 'cpu', reason: 'auto: fallback up; not available: native (package absent)', compilesKernels: false });
  });

  it("reports what an entry skipped inside itself, and the device it reports", async () => {
    const entries = [fake('native', 9, { started: { device: 'gpu', skipped: ['gpu-pkg: absent'] } })];
    const { info } = await chooseBackend(entries, 'auto');
    expect(info).toMatchObject({ device: 'gpu', reason: 'auto: native up; not available: gpu-pkg: absent', compilesKernels: false });
  });

  it('passes on whether the entry compiles its kernels on first use (the worker then warms up)', async () => {
    const { info } = await chooseBackend([fake('shaders', 9, { started: { compilesKernels: true } })], 'auto');
    expect(info.compilesKernels).toBe(true);
  });

  it('never falls back to an entry auto may not pick; the error says how to choose it', async () => {
    const log: string[] = [];
    const entries = [fake('native', 9, { fails: 'absent' }, log), fake('slow', null, {}, log)];
    await expect(chooseBackend(entries, 'auto')).rejects.toThrow('auto, but no backend could start: native (absent); to train on slow deliberately, name it in TRAINYARD_BACKEND');
    expect(log).toEqual(['native']);
  });

  it('starts a named entry even when auto may not pick it, and only that one', async () => {
    const log: string[] = [];
    const entries = [fake('native', 9, {}, log), fake('slow', null, {}, log)];
    const { info } = await chooseBackend(entries, 'slow');
    expect(log).toEqual(['slow']);
    expect(info).toMatchObject({ name: 'slow', reason: 'TRAINYARD_BACKEND=slow: slow up' });
  });

  it('fails clearly when the named entry cannot start, without trying another', async () => {
    const log: string[] = [];
    const entries = [fake('native', 9, { fails: 'package absent' }, log), fake('fallback', 1, {}, log)];
    await expect(chooseBackend(entries, 'native')).rejects.toThrow('TRAINYARD_BACKEND=native, but no backend could start: native (package absent)');
    expect(log).toEqual(['native']);
  });

  it('rejects a name no entry has, listing the names', async () => {
    await expect(chooseBackend([fake('a', 1, {}), fake('b', null, {})], 'gpu')).rejects.toThrow('TRAINYARD_BACKEND=gpu is not a backend; the backends are a, b (or auto)');
  });

  it('has tensorflow, webgpu, wasm and cpu as entries; auto prefers native TensorFlow, then webgpu, then wasm, and never picks cpu', () => {
    expect([...backendPreferences].sort()).toEqual(['auto', 'cpu', 'tensorflow', 'wasm', 'webgpu']);
    expect(autoOrder(backendEntries).map((e) => e.name)).toEqual(['tensorflow', 'webgpu', 'wasm']);
  });

  it('passes auto to the entry, so that one may refuse under auto what it runs when named', async () => {
    const seen: unknown[] = [];
    const entry = { ...fake('gpu', 5, {}), start: async (o?: { auto: boolean }) => (seen.push(o), { package: 'p', device: 'gpu' as const, outcome: 'up', adapter: { vendor: 'v', architecture: 'a', description: 'd' } }) };
    const { info } = await chooseBackend([entry], 'auto');
    await chooseBackend([entry], 'gpu');
    expect(seen).toEqual([{ auto: true }, { auto: false }]);
    expect(info.adapter).toEqual({ vendor: 'v', architecture: 'a', description: 'd' });
  });

  it('states the wasm heap ceiling as a capability of the wasm entry only', () => {
    const ceilings = new Map(backendEntries.map((e) => [e.name, e.memoryCeilingBytes]));
    expect(ceilings.get('wasm')).toBe(4 * 1024 ** 3 - 64 * 1024);
    expect(ceilings.get('tensorflow')).toBeNull();
    expect(ceilings.get('cpu')).toBeNull();
  });
});
