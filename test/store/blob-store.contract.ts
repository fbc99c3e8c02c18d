/**
 * What every BlobStore must do, as tests: run `blobStoreContract` against an implementation (the
 * filesystem's in file-blob-store.test.ts; an S3-compatible one next, against a real S3 protocol
 * server). Only the BlobStore interface is used here, so the suite knows nothing of how bytes are kept.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidKey, PublicationRefused, readBlob, type BlobObject, type BlobStore, type PublicationFence } from '../../src/store/blob-store.js';

export interface ContractSubject {
  store: BlobStore;
  cleanup(): Promise<void>;
}

const text = async (store: BlobStore, key: string) => {
  const stream = await store.get(key);
  return stream ? (await readBlob(stream)).toString('utf8') : null;
};
const fence = (attempt: number, holds = true): PublicationFence => ({ attempt, holds: async () => holds });
const one = (body: string): BlobObject[] => [{ name: 'manifest.json', body }];

/** Chunks of a deterministic pattern, so a large object's bytes can be checked without keeping a copy. */
async function* pattern(chunks: number, chunkBytes: number): AsyncIterable<Uint8Array> {
  for (let c = 0; c < chunks; c++) yield Uint8Array.from({ length: chunkBytes }, (_, i) => (c * 31 + i) & 0xff);
}

/** A promise and its resolver. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** A putSet held half-way: resolves once the `first` objects have been taken (written), for a reader to look; finish() hands over the rest. */
async function halfWritten(store: BlobStore, set: string, first: BlobObject[], rest: BlobObject[]): Promise<{ finish(): Promise<void> }> {
  const taken = gate();
  const resume = gate();
  async function* objects(): AsyncIterable<BlobObject> {
    yield* first;
    taken.open();
    await resume.opened;
    yield* rest;
  }
  const publishing = store.putSet(set, objects());
  await Promise.race([taken.opened, publishing]);
  return {
    finish: () => {
      resume.open();
      return publishing;
    },
  };
}

export function blobStoreContract(name: string, subject: () => Promise<ContractSubject>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let s: ContractSubject;
    let store: BlobStore;
    beforeEach(async () => {
      s = await subject();
      store = s.store;
    });
    afterEach(() => s.cleanup());

    it('publishes a set and reads each object back as a stream with its size; head and list agree', async () => {
      await store.putSet('models/m-1', [
        { name: 'weights.bin', body: Uint8Array.of(1, 2, 3, 250) },
        { name: 'model.json', body: '{"a":1}' },
      ]);
      const weights = (await store.get('models/m-1/weights.bin'))!;
      expect(weights.size).toBe(4);
      expect([...(await readBlob(weights))]).toEqual([1, 2, 3, 250]);
      expect(await text(store, 'models/m-1/model.json')).toBe('{"a":1}');
      const head = (await store.head('models/m-1/model.json'))!;
      expect(head).toMatchObject({ key: 'models/m-1/model.json', size: 7 });
      expect(head.etag).not.toBe('');
      expect(await store.list('models/m-1')).toEqual(['model.json', 'weights.bin']);
      expect(await store.list('models')).toEqual(['m-1']);
      expect(await store.list('')).toEqual(['models']);
    });

    it('answers null and [] for what does not exist', async () => {
      expect(await store.get('models/none/model.json')).toBeNull();
      expect(await store.head('models/none/model.json')).toBeNull();
      expect(await store.list('models/none')).toEqual([]);
      expect(await store.deleteSet('models/none')).toBe(false);
      expect(await store.publishedAttempt('models/none')).toBe(0);
    });

    it('writes a streamed object as it arrives and streams it back byte for byte', async () => {
      const chunks = 40;
      const chunkBytes = 64 * 1024;
      await store.putSet('datasets/big', [{ name: 'shard-0', body: pattern(chunks, chunkBytes) }]);
      const stream = (await store.get('datasets/big/shard-0'))!;
      expect(stream.size).toBe(chunks * chunkBytes);
      const expected = pattern(chunks, chunkBytes)[Symbol.asyncIterator]();
      let pending = Buffer.alloc(0);
      let compared = 0;
      for await (const piece of stream.body as AsyncIterable<Buffer>) {
        pending = Buffer.concat([pending, piece]);
        while (pending.length >= chunkBytes) {
          const next = (await expected.next()).value as Uint8Array;
          expect(Buffer.compare(pending.subarray(0, chunkBytes), Buffer.from(next))).toBe(0);
          pending = pending.subarray(chunkBytes);
          compared++;
        }
      }
      expect(compared).toBe(chunks);
    });

    it('takes the objects of a set from an async iterable', async () => {
      async function* objects(): AsyncIterable<BlobObject> {
        yield { name: 'shard-0', body: 'zero' };
        yield { name: 'shard-1', body: 'one' };
      }
      await store.putSet('datasets/d-1', objects());
      expect(await store.list('datasets/d-1')).toEqual(['shard-0', 'shard-1']);
    });

    it('is atomic: while a set is half written, readers see the set as it was, whole', async () => {
      await store.putSet('models/m-1', [
        { name: 'model.json', body: 'old model' },
        { name: 'manifest.json', body: 'old manifest' },
      ]);
      const publishing = await halfWritten(store, 'models/m-1', [{ name: 'model.json', body: 'new model' }], [{ name: 'manifest.json', body: 'new manifest' }]);
      // the first new object has been handed over; nothing of the new set shows yet
      expect(await text(store, 'models/m-1/model.json')).toBe('old model');
      expect(await text(store, 'models/m-1/manifest.json')).toBe('old manifest');
      expect(await store.list('models')).toEqual(['m-1']);
      await publishing.finish();
      expect(await text(store, 'models/m-1/model.json')).toBe('new model');
      expect(await text(store, 'models/m-1/manifest.json')).toBe('new manifest');
    });

    it('a new set is invisible until complete', async () => {
      const publishing = await halfWritten(store, 'models/fresh', [{ name: 'model.json', body: 'new' }], []);
      expect(await store.get('models/fresh/model.json')).toBeNull();
      expect(await store.list('models')).toEqual([]);
      await publishing.finish();
      expect(await store.list('models')).toEqual(['fresh']);
    });

    it('publishes nothing and leaves nothing visible when writing a set fails', async () => {
      await store.putSet('models/m-1', one('before'));
      async function* failing(): AsyncIterable<BlobObject> {
        yield { name: 'model.json', body: 'half' };
        throw new Error('the source broke');
      }
      await expect(store.putSet('models/m-1', failing())).rejects.toThrow('the source broke');
      await expect(store.putSet('models/m-2', failing())).rejects.toThrow('the source broke');
      expect(await store.list('models')).toEqual(['m-1']);
      expect(await store.list('models/m-1')).toEqual(['manifest.json']);
      expect(await text(store, 'models/m-1/manifest.json')).toBe('before');
    });

    it('replaces a set whole when unfenced: objects of the old set not in the new one are gone; the etag changes', async () => {
      await store.putSet('models/m-1', [
        { name: 'model.json', body: 'first' },
        { name: 'extra.bin', body: 'x' },
      ]);
      const before = (await store.head('models/m-1/model.json'))!.etag;
      await store.putSet('models/m-1', [{ name: 'model.json', body: 'second' }]);
      expect(await text(store, 'models/m-1/model.json')).toBe('second');
      expect(await store.list('models/m-1')).toEqual(['model.json']);
      expect(await store.get('models/m-1/extra.bin')).toBeNull();
      expect((await store.head('models/m-1/model.json'))!.etag).not.toBe(before);
      expect(await store.publishedAttempt('models/m-1')).toBe(0);
    });

    it('deletes a set whole; a stream opened before the delete still reads to the end', async () => {
      const body = 'y'.repeat(200_000);
      await store.putSet('models/m-1', [{ name: 'weights.bin', body }]);
      const open = (await store.get('models/m-1/weights.bin'))!;
      expect(await store.deleteSet('models/m-1')).toBe(true);
      expect(await store.get('models/m-1/weights.bin')).toBeNull();
      expect(await store.list('models')).toEqual([]);
      expect((await readBlob(open)).toString('utf8')).toBe(body);
      expect(await store.deleteSet('models/m-1')).toBe(false);
    });

    it('refuses keys and object names that are not plain names', async () => {
      for (const key of ['../etc/passwd', 'models/../../x', 'models/.attempt', '/abs', 'a//b', '']) {
        await expect(store.get(key), key).rejects.toBeInstanceOf(InvalidKey);
        await expect(store.putSet(key, one('x')), key).rejects.toBeInstanceOf(InvalidKey);
      }
      await expect(store.putSet('models/m-1', [{ name: '../escape', body: 'x' }])).rejects.toThrow(/invalid object name/);
      await expect(store.putSet('models/m-1', [{ name: '.hidden', body: 'x' }])).rejects.toThrow(/invalid object name/);
      expect(await store.list('models')).toEqual([]);
    });

    describe('fenced by the attempt of the job publishing', () => {
      it('publishes and records the attempt, listing only the set’s own objects', async () => {
        await store.putSet('models/j-1', one('a1'), { fence: fence(1) });
        expect(await text(store, 'models/j-1/manifest.json')).toBe('a1');
        expect(await store.publishedAttempt('models/j-1')).toBe(1);
        expect(await store.list('models/j-1')).toEqual(['manifest.json']);
      });

      it('refuses an attempt that no longer owns its job, and leaves the published set alone', async () => {
        await store.putSet('models/j-1', one('a2'), { fence: fence(2) });
        await expect(store.putSet('models/j-1', one('a1'), { fence: fence(1, false) })).rejects.toBeInstanceOf(PublicationRefused);
        await expect(store.putSet('models/j-2', one('a1'), { fence: fence(1, false) })).rejects.toBeInstanceOf(PublicationRefused);
        expect(await text(store, 'models/j-1/manifest.json')).toBe('a2');
        expect(await store.list('models')).toEqual(['j-1']);
      });

      it('never replaces a set of the same or a later attempt, even when the fence still answers yes', async () => {
        await store.putSet('models/j-1', one('a2'), { fence: fence(2) });
        await expect(store.putSet('models/j-1', one('a1'), { fence: fence(1) })).rejects.toBeInstanceOf(PublicationRefused);
        await expect(store.putSet('models/j-1', one('a2-again'), { fence: fence(2) })).rejects.toBeInstanceOf(PublicationRefused);
        expect(await text(store, 'models/j-1/manifest.json')).toBe('a2');
        expect(await store.publishedAttempt('models/j-1')).toBe(2);
      });

      it('replaces a set left by an earlier attempt (one that published and then lost its job), leaving nothing aside', async () => {
        await store.putSet('models/j-1', one('a1'), { fence: fence(1) });
        await store.putSet('models/j-1', one('a2'), { fence: fence(2) });
        expect(await text(store, 'models/j-1/manifest.json')).toBe('a2');
        expect(await store.publishedAttempt('models/j-1')).toBe(2);
        expect(await store.list('models')).toEqual(['j-1']);
      });

      it('of two attempts publishing at once, the later one’s set is what stays', async () => {
        const results = await Promise.allSettled([
          store.putSet('models/j-1', one('a2'), { fence: fence(2) }),
          store.putSet('models/j-1', one('a1'), { fence: fence(1) }),
        ]);
        expect(results[0].status).toBe('fulfilled');
        expect(await text(store, 'models/j-1/manifest.json')).toBe('a2');
        expect(await store.publishedAttempt('models/j-1')).toBe(2);
      });
    });
  });
}
