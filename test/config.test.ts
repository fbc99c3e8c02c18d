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

  it('keeps models and datasets in DATA_DIR unless STORE_URL names a bucket', () => {
    const files = loadConfig({ DATA_DIR: '/srv/ty' });
    expect(files.store).toEqual({ s3: null, cache: { dir: '/srv/ty/.store-cache', maxBytes: 2 ** 31 }, verifiedShardBytes: 2 ** 28 });
    expect(loadConfig({ SHARD_CACHE_BYTES: '0' }).store.verifiedShardBytes).toBe(0);
    const s3 = loadConfig({ STORE_URL: 's3://models-bucket/team/trainyard/', S3_ENDPOINT: 'http://minio:9000', S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret', STORE_CACHE_BYTES: '0' });
    expect(s3.store).toMatchObject({
      s3: { bucket: 'models-bucket', prefix: 'team/trainyard', endpoint: 'http://minio:9000', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'id', secretAccessKey: 'secret' } },
      cache: { maxBytes: 0 },
    });
    expect(loadConfig({ STORE_URL: 's3://b-1' }).store.s3).toMatchObject({ bucket: 'b-1', prefix: '', endpoint: null, forcePathStyle: false, credentials: null });
  });

  it('names a bad store setting', () => {
    for (const url of ['http://bucket/x', 's3://Bucket', 's3://bucket/../up', 's3://bucket/a//b', 's3://bucket/.hidden']) {
      expect(() => loadConfig({ STORE_URL: url }), url).toThrow(/STORE_URL must be s3:\/\/bucket/);
    }
    expect(() => loadConfig({ S3_ENDPOINT: 'minio:9000' })).toThrow("S3_ENDPOINT must be an http:// or https:// URL, not 'minio:9000'");
    expect(() => loadConfig({ S3_FORCE_PATH_STYLE: 'yes' })).toThrow("S3_FORCE_PATH_STYLE must be true or false, not 'yes'");
    expect(() => loadConfig({ AWS_ACCESS_KEY_ID: 'id' })).toThrow('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
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
