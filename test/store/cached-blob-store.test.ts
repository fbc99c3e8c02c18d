import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readBlob, type BlobStore, type BlobStream } from '../../src/store/blob-store.js';
import { CachedBlobStore } from '../../src/store/cached-blob-store.js';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { localS3ForFile } from '../helpers/s3rver.js';
import { blobStoreContract } from './blob-store.contract.js';

const localS3 = localS3ForFile();

// The cache changes nothing a reader can see: the whole contract holds through it.
blobStoreContract('CachedBlobStore over S3BlobStore (s3rver)', async () => {
  const { store, client } = localS3().store();
  const dir = await mkdtemp(path.join(tmpdir(), 'trainyard-cache-'));
  return {
    store: new CachedBlobStore(store, { dir, maxBytes: 1024 * 1024 }),
    cleanup: async () => {
      client.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

/** A remote store that counts the objects read from it. */
class CountingStore extends FileBlobStore {
  gets = 0;
  override async get(key: string): Promise<BlobStream | null> {
    this.gets++;
    return super.get(key);
  }
}

const text = async (store: BlobStore, key: string) => {
  const stream = await store.get(key);
  return stream ? (await readBlob(stream)).toString('utf8') : null;
};

describe('CachedBlobStore', () => {
  let remoteDir: string;
  let cacheDir: string;
  let remote: CountingStore;
  let cached: CachedBlobStore;
  beforeEach(async () => {
    remoteDir = await mkdtemp(path.join(tmpdir(), 'trainyard-remote-'));
    cacheDir = path.join(await mkdtemp(path.join(tmpdir(), 'trainyard-cache-')), 'cache');
    remote = new CountingStore(remoteDir);
    cached = new CachedBlobStore(remote, { dir: cacheDir, maxBytes: 1000 });
  });
  afterEach(async () => {
    vi.useRealTimers();
    await rm(remoteDir, { recursive: true, force: true });
    await rm(path.dirname(cacheDir), { recursive: true, force: true });
  });

  it('reads an object from the remote store once, then from disk', async () => {
    await remote.putSet('models/m-1', [{ name: 'weights.bin', body: 'w'.repeat(300) }]);
    expect(await text(cached, 'models/m-1/weights.bin')).toBe('w'.repeat(300));
    expect(await text(cached, 'models/m-1/weights.bin')).toBe('w'.repeat(300));
    expect(remote.gets).toBe(1);
    expect(await readdir(cacheDir)).toHaveLength(1);
  });

  it('never serves a replaced or deleted object from disk', async () => {
    await remote.putSet('models/m-1', [{ name: 'model.json', body: 'first' }]);
    expect(await text(cached, 'models/m-1/model.json')).toBe('first');
    await remote.putSet('models/m-1', [{ name: 'model.json', body: 'again' }]);
    expect(await text(cached, 'models/m-1/model.json')).toBe('again');
    // the first version's copy went when the second was kept
    expect(await readdir(cacheDir)).toHaveLength(1);
    await remote.deleteSet('models/m-1');
    expect(await cached.get('models/m-1/model.json')).toBeNull();
  });

  it('keeps under its cap by removing the least recently used objects', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    await remote.putSet('d/x', ['a', 'b', 'c'].map((name) => ({ name, body: name.repeat(400) })));
    for (const [minute, name] of [[1, 'a'], [2, 'b'], [3, 'a'], [4, 'c']] as const) {
      vi.setSystemTime(Date.UTC(2026, 0, 1, 0, minute));
      expect(await text(cached, `d/x/${name}`)).toBe(name.repeat(400));
    }
    // 1,200 bytes were read under a cap of 1,000: b, used least recently, went
    expect(await readdir(cacheDir)).toHaveLength(2);
    const before = remote.gets;
    await text(cached, 'd/x/a');
    await text(cached, 'd/x/c');
    expect(remote.gets).toBe(before);
    await text(cached, 'd/x/b');
    expect(remote.gets).toBe(before + 1);
  });

  it('streams an object larger than its cap straight through, keeping nothing', async () => {
    await remote.putSet('d/x', [{ name: 'huge', body: 'h'.repeat(5000) }]);
    expect(await text(cached, 'd/x/huge')).toBe('h'.repeat(5000));
    expect(await readdir(cacheDir).catch(() => [])).toEqual([]);
  });

  it('reads from the remote store when its folder cannot be written', async () => {
    await writeFile(path.dirname(cacheDir) + '/blocked', 'a file where the folder should be');
    const blocked = new CachedBlobStore(remote, { dir: path.join(path.dirname(cacheDir), 'blocked', 'cache'), maxBytes: 1000 });
    await remote.putSet('d/x', [{ name: 'shard-0', body: 'zero' }]);
    expect(await text(blocked, 'd/x/shard-0')).toBe('zero');
    expect(await text(blocked, 'd/x/shard-0')).toBe('zero');
  });

  it('is shared safely by processes with one folder: each sees the other’s copies, and fresh ones after a replace', async () => {
    const other = new CachedBlobStore(remote, { dir: cacheDir, maxBytes: 1000 });
    await remote.putSet('d/x', [{ name: 'shard-0', body: 'zero' }, { name: 'shard-1', body: 'one' }]);
    const together = await Promise.all([text(cached, 'd/x/shard-0'), text(other, 'd/x/shard-0'), text(cached, 'd/x/shard-1'), text(other, 'd/x/shard-1')]);
    expect(together).toEqual(['zero', 'zero', 'one', 'one']);
    const gets = remote.gets;
    expect(await text(other, 'd/x/shard-0')).toBe('zero');
    expect(remote.gets).toBe(gets);
    await remote.putSet('d/x', [{ name: 'shard-0', body: 'ZERO' }]);
    expect(await text(other, 'd/x/shard-0')).toBe('ZERO');
    expect(await text(cached, 'd/x/shard-0')).toBe('ZERO');
    expect(await cached.get('d/x/shard-1')).toBeNull();
    expect((await readdir(cacheDir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });
});
