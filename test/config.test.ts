import { describe, expect, it } from 'vitest';
import { ConfigError, configVariables, loadConfig } from '../src/config.js';

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
        "TRAINYARD_BACKEND must be one of auto, tensorflow, wasm, cpu, not 'gpu'",
        "MAX_EPOCHS must be a positive integer, not '-3'",
      ]);
    }
  });

  it('documents every variable', () => {
    for (const v of configVariables) expect(v.doc.length).toBeGreaterThan(10);
  });
});
