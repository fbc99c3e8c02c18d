import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBlob } from '../../src/store/blob-store.js';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { blobStoreContract } from './blob-store.contract.js';

async function temporaryRoot(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'trainyard-blobs-'));
}

blobStoreContract('FileBlobStore', async () => {
  const root = await temporaryRoot();
  return { store: new FileBlobStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FileBlobStore on disk', () => {
  let root: string;
  beforeEach(async () => {
    root = await temporaryRoot();
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps a set as a folder of files, as DATA_DIR/models has always been laid out', async () => {
    await new FileBlobStore(root).putSet('models/m-1', [{ name: 'model.json', body: '{}' }]);
    expect(await readFile(path.join(root, 'models', 'm-1', 'model.json'), 'utf8')).toBe('{}');
  });

  it('reads a folder written before the store existed (no attempt marker) as an unfenced set', async () => {
    await mkdir(path.join(root, 'models', 'old'), { recursive: true });
    await writeFile(path.join(root, 'models', 'old', 'manifest.json'), 'legacy');
    const store = new FileBlobStore(root);
    expect((await readBlob((await store.get('models/old/manifest.json'))!)).toString()).toBe('legacy');
    expect(await store.publishedAttempt('models/old')).toBe(0);
  });

  it('leaves no temporary, superseded or deleted folders behind', async () => {
    const store = new FileBlobStore(root);
    const fence = (attempt: number) => ({ attempt, holds: async () => true });
    await store.putSet('models/j-1', [{ name: 'manifest.json', body: 'a1' }], { fence: fence(1) });
    await store.putSet('models/j-1', [{ name: 'manifest.json', body: 'a2' }], { fence: fence(2) });
    await store.putSet('models/j-2', [{ name: 'manifest.json', body: 'x' }]);
    await store.putSet('models/j-2', [{ name: 'manifest.json', body: 'y' }]);
    await store.deleteSet('models/j-2');
    // eslint-disable-next-line require-yield
    const failing = async function* () {
      throw new Error('broken');
    };
    await expect(store.putSet('models/j-3', failing())).rejects.toThrow('broken');
    expect(await readdir(path.join(root, 'models'))).toEqual(['j-1']);
    expect((await readdir(path.join(root, 'models', 'j-1'))).sort()).toEqual(['.attempt', 'manifest.json']);
  });

  it('does not list files that are not plain names, nor folders as objects', async () => {
    await mkdir(path.join(root, 'models', '.tmp-x-1'), { recursive: true });
    await mkdir(path.join(root, 'models', 'm-1', 'sub'), { recursive: true });
    const store = new FileBlobStore(root);
    expect(await store.list('models')).toEqual(['m-1']);
    expect(await store.get('models/m-1/sub')).toBeNull();
    expect(await store.head('models/m-1/sub')).toBeNull();
  });
});
