import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, configVariables, loadConfig } from '../src/config.js';
import { backendEntries } from '../src/nn/backend.js';

describe('loadConfig', () => {
  it('has a default for everything', () => {
    const config = loadConfig({});
    expect(config.backend).toBe('auto');
    expect(config.networkLimits.maxLearnables).toBe(50_000_000);
    expect(config.optionLimits.maxEpochs).toBe(1000);
  });

  it('reads the environment and names every bad variable at once', () => {
    expect(loadConfig({ TRAINYARD_BACKEND: 'wasm', MAX_LEARNABLES: '1000' })).toMatchObject({ backend: 'wasm', networkLimits: { maxLearnables: 1000 } });
    try {
      loadConfig({ TRAINYARD_BACKEND: 'gpu', MAX_EPOCHS: '-3' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([
        "TRAINYARD_BACKEND must be one of auto, tensorflow, webgpu, wasm, cpu, not 'gpu'",
        "MAX_EPOCHS must be a positive integer, not '-3'",
      ]);
    }
  });

  it("takes TRAINYARD_BACKEND's values from the backend registry", () => {
    for (const entry of backendEntries) expect(loadConfig({ TRAINYARD_BACKEND: entry.name }).backend).toBe(entry.name);
    expect(() => loadConfig({ TRAINYARD_BACKEND: 'webgl' })).toThrow(`TRAINYARD_BACKEND must be one of auto, ${backendEntries.map((e) => e.name).join(', ')}, not 'webgl'`);
  });

  it('documents every variable, with its default, in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = new Map(
      readme
        .split('\n')
        .filter((l) => l.startsWith('| `'))
        .map((l) => l.split('|').map((c) => c.trim().replace(/`/g, '')))
        .map((cells) => [cells[1], cells[2]] as const),
    );
    for (const v of configVariables) {
      expect(rows.has(v.name), `README lists ${v.name}`).toBe(true);
      expect(rows.get(v.name), `README's default for ${v.name}`).toBe(v.default);
    }
  });
});
