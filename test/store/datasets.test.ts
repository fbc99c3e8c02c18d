import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatasetManifest } from '../../src/data/ingest/shards.js';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { DatasetStore } from '../../src/store/datasets.js';

describe('DatasetStore', () => {
  let dir: string;
  let store: DatasetStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'trainyard-datasets-'));
    store = new DatasetStore(new FileBlobStore(dir));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('publishes a dataset whole: nothing is visible until publish, then every object is', async () => {
    const writer = store.writer('d-1');
    await writer.putObject('train-00000.shard', new Uint8Array([1, 2, 3]));
    expect(await store.manifest('d-1')).toBeNull();
    expect(await store.list()).toEqual([]);
    await writer.putObject('manifest.json', new TextEncoder().encode(JSON.stringify({ format: 'trainyard-shards-1' })));
    await writer.publish();
    expect((await store.manifest('d-1'))?.format satisfies DatasetManifest['format'] | undefined).toBe('trainyard-shards-1');
    expect([...(await store.object('d-1', 'train-00000.shard'))]).toEqual([1, 2, 3]);
    expect(await store.list()).toEqual(['d-1']);
    expect(await store.delete('d-1')).toBe(true);
    expect(await store.manifest('d-1')).toBeNull();
  });

  it('leaves nothing behind when ingestion aborts', async () => {
    const writer = store.writer('d-2');
    await writer.putObject('train-00000.shard', new Uint8Array(1000));
    await writer.abort();
    expect(await store.list()).toEqual([]);
    expect((await readdir(dir, { recursive: true })).filter((name) => name.includes('d-2'))).toEqual([]);
  });

  it('fails putObject when the store cannot take the object, rather than waiting forever', async () => {
    const writer = store.writer('d-3');
    await expect(writer.putObject('../escape', new Uint8Array(1))).rejects.toThrow(/invalid object name/);
    await writer.abort();
    expect(await store.list()).toEqual([]);
  });

  it('refuses an id that is not one plain name', () => {
    expect(() => store.writer('../models')).toThrow(/invalid dataset id/);
  });
});
