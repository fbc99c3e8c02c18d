import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { blobStore, uploadStore } from '../../src/composition.js';
import { loadConfig, type Config } from '../../src/config.js';
import { readBlob } from '../../src/store/blob-store.js';
import { localS3ForFile } from '../helpers/s3rver.js';

const localS3 = localS3ForFile();
let dataDir: string;
let config: Config;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'trainyard-uploads-'));
  config = loadConfig({ ...localS3().env(`t-${randomUUID()}`), DATA_DIR: dataDir });
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

const cached = () => readdir(config.store.cache.dir).catch(() => [] as string[]);

async function* body(text: string): AsyncGenerator<Uint8Array> {
  yield Buffer.from(text);
}

it('reads an uploaded archive past the read cache, which keeps what is read again (shards, models)', async () => {
  const uploads = uploadStore(config);
  await uploads.put('u1', body('an archive read once'), 1000);
  expect(Buffer.concat(await (await uploads.get('u1'))!.toArray()).toString()).toBe('an archive read once');
  expect(await cached()).toEqual([]);

  // The same configuration's store for datasets does keep what it reads: the cache is on.
  const store = blobStore(config);
  await store.putSet('datasets/d1', [{ name: 'shard', body: 'a shard read every epoch' }]);
  await readBlob((await store.get('datasets/d1/shard'))!);
  expect(await cached()).toHaveLength(1);
});
