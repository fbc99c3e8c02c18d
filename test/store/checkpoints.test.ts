import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PublicationRefused, readBlob, type BlobStore } from '../../src/store/blob-store.js';
import { CheckpointStore } from '../../src/store/checkpoints.js';
import { FileBlobStore } from '../../src/store/file-blob-store.js';
import { checkpointAt } from '../helpers/checkpoints.js';
import { localS3ForFile } from '../helpers/s3rver.js';

const localS3 = localS3ForFile();

const backends: [string, () => Promise<{ blobs: BlobStore; cleanup: () => Promise<void> }>][] = [
  [
    'filesystem',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'trainyard-checkpoints-'));
      return { blobs: new FileBlobStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
  [
    'object storage',
    async () => {
      const { store, client } = localS3().store();
      return { blobs: store, cleanup: async () => client.destroy() };
    },
  ],
];

describe.each(backends)('CheckpointStore (%s)', (_name, open) => {
  const withStore = async (test: (store: CheckpointStore, blobs: BlobStore) => Promise<void>) => {
    const { blobs, cleanup } = await open();
    try {
      await test(new CheckpointStore(blobs, 2), blobs);
    } finally {
      await cleanup();
    }
  };
  const holds = (answer: boolean) => ({ holds: async () => answer });

  it('gives back the latest of the job, keeps the latest two, and deletes them all when the job ends', () =>
    withStore(async (store, blobs) => {
      expect((await store.latest('j-1')).found).toBeNull();
      const initialModel = { id: 'parent', name: null, layersFromModel: ['conv_1'], layersNotFromModel: [{ layer: 'fc_1', reason: 'not in the model' }] };
      for (const iteration of [4, 8, 12]) await store.save('j-1', { checkpoint: checkpointAt(iteration), lastEventId: `${iteration}-0`, resumes: 2, initialModel }, { attempt: 1, ...holds(true) });
      await store.save('j-10', { checkpoint: checkpointAt(100), lastEventId: null });
      const { found, skipped } = await store.latest('j-1');
      expect(skipped).toEqual([]);
      expect(found).toEqual({ checkpoint: checkpointAt(12), lastEventId: '12-0', resumes: 2, initialModel });
      expect((await store.latest('j-10')).found?.initialModel).toBeNull();
      expect(await blobs.list('checkpoints')).toEqual(['j-1.000000000008', 'j-1.000000000012', 'j-10.000000000100']);
      await store.deleteAll('j-1');
      expect(await blobs.list('checkpoints')).toEqual(['j-10.000000000100']);
      expect((await store.latest('j-10')).found).toMatchObject({ checkpoint: { iteration: 100 }, resumes: 0 });
    }));

  it('falls back to the previous checkpoint when the newest is truncated, saying which it skipped', () =>
    withStore(async (store, blobs) => {
      await store.save('j-2', { checkpoint: checkpointAt(4), lastEventId: null });
      await store.save('j-2', { checkpoint: checkpointAt(8), lastEventId: null });
      const set = 'checkpoints/j-2.000000000008';
      const tensors = await readBlob((await blobs.get(`${set}/tensors.bin`))!);
      const state = await readBlob((await blobs.get(`${set}/state.json`))!);
      await blobs.putSet(set, [
        { name: 'tensors.bin', body: tensors.subarray(0, tensors.length - 5) },
        { name: 'state.json', body: state },
      ]);
      const { found, skipped } = await store.latest('j-2');
      expect(found?.checkpoint.iteration).toBe(4);
      expect(skipped).toEqual([{ iteration: 8, reason: `its tensors are truncated: ${tensors.length - 5} of their ${tensors.length} bytes` }]);
    }));

  it("refuses a stale attempt's checkpoint and keeps the one before", () =>
    withStore(async (store) => {
      await store.save('j-3', { checkpoint: checkpointAt(4), lastEventId: null }, { attempt: 2, ...holds(true) });
      await expect(store.save('j-3', { checkpoint: checkpointAt(8), lastEventId: null }, { attempt: 1, ...holds(false) })).rejects.toBeInstanceOf(PublicationRefused);
      expect((await store.latest('j-3')).found?.checkpoint.iteration).toBe(4);
    }));
});
