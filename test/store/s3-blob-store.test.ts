import { createHash, randomUUID } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBlob } from '../../src/store/blob-store.js';
import { abandonedAfterMs, S3BlobStore, s3Client } from '../../src/store/s3-blob-store.js';
import { localS3ForFile, type LocalS3 } from '../helpers/s3rver.js';
import { blobStoreContract } from './blob-store.contract.js';

const localS3 = localS3ForFile();

// Each test under a prefix of its own in the one bucket: the store must keep to its prefix.
blobStoreContract('S3BlobStore (s3rver)', async () => {
  const { store, client } = localS3().store();
  return { store, cleanup: async () => client.destroy() };
});

describe('S3BlobStore in the bucket', () => {
  let client: S3Client;
  let prefix: string;
  let store: S3BlobStore;
  let s3: LocalS3;
  beforeEach(() => {
    s3 = localS3();
    prefix = `s3-${randomUUID()}`;
    client = s3Client(s3.settings(prefix));
    store = new S3BlobStore(client, s3.bucket, prefix, 5 * 1024 * 1024);
  });
  afterEach(() => client.destroy());

  /** Every key under the store's prefix, as S3 has them. */
  async function keys(): Promise<string[]> {
    const out = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
    return (out.Contents ?? []).map((o) => o.Key!.slice(prefix.length + 1)).sort();
  }

  it('sends a streamed object larger than a part as a multipart upload, and streams it back whole', async () => {
    const partBytes = 5 * 1024 * 1024;
    const total = 2 * partBytes + 123_457;
    async function* chunks(): AsyncIterable<Uint8Array> {
      for (let sent = 0; sent < total; sent += 65_536) yield Uint8Array.from({ length: Math.min(65_536, total - sent) }, (_, i) => (sent + i * 7) & 0xff);
    }
    const expected = createHash('sha256');
    for await (const chunk of chunks()) expected.update(chunk);
    const commands: string[] = [];
    client.middlewareStack.add((next, context) => (args) => (commands.push(context.commandName!), next(args)), { step: 'initialize' });
    await store.putSet('datasets/big', [{ name: 'shard-0', body: chunks() }]);
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
    expect(commands).toContain('CompleteMultipartUploadCommand');
    const stream = (await store.get('datasets/big/shard-0'))!;
    expect(stream.size).toBe(total);
    const got = createHash('sha256');
    for await (const piece of stream.body) got.update(piece as Buffer);
    expect(got.digest('hex')).toBe(expected.digest('hex'));
  });

  it('keeps to its prefix, and at rest holds one pointer, the published version and the folder marker', async () => {
    const other = new S3BlobStore(client, s3.bucket, `${prefix}-other`);
    await other.putSet('models/m-9', [{ name: 'model.json', body: 'elsewhere' }]);
    await store.putSet('models/m-1', [{ name: 'model.json', body: 'first' }, { name: 'extra.bin', body: 'x' }]);
    await store.putSet('models/m-1', [{ name: 'model.json', body: 'second' }]);
    await store.putSet('models/m-1', [{ name: 'model.json', body: 'third' }], { fence: { attempt: 3, holds: async () => true } });
    await store.putSet('models/m-2', [{ name: 'model.json', body: 'doomed' }]);
    await store.deleteSet('models/m-2');
    expect(await store.list('models')).toEqual(['m-1']);
    const left = await keys();
    expect(left).toHaveLength(3);
    expect(left[0]).toMatch(/^\.data\/models\/m-1\/[0-9a-z]{10}-[0-9a-f-]{36}\/model\.json$/);
    expect(left[1]).toBe('.sets/models/.folder');
    expect(left[2]).toMatch(/^\.sets\/models\/m-1\/\.p0000000003\./);
    expect(await other.list('models')).toEqual(['m-9']);
  });

  it('collects a version a dead process left without a pointer once it is abandoned, never one still being written', async () => {
    const put = (version: string) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/.data/models/m-1/${version}/model.json`, Body: 'orphan' }));
    const stamp = (ms: number) => ms.toString(36).padStart(10, '0');
    const abandoned = `${stamp(Date.now() - abandonedAfterMs - 60_000)}-${randomUUID()}`;
    const inProgress = `${stamp(Date.now() - 60_000)}-${randomUUID()}`;
    await put(abandoned);
    await put(inProgress);
    await store.putSet('models/m-1', [{ name: 'model.json', body: 'published' }]);
    const left = await keys();
    expect(left.some((k) => k.includes(abandoned))).toBe(false);
    expect(left.some((k) => k.includes(inProgress))).toBe(true);
    expect((await readBlob((await store.get('models/m-1/model.json'))!)).toString()).toBe('published');
  });

  it('names a failure of the object store by its code, as the filesystem’s errors are named', async () => {
    const nowhere = new S3BlobStore(client, 'no-such-bucket', prefix);
    await expect(nowhere.putSet('models/m-1', [{ name: 'model.json', body: 'x' }])).rejects.toMatchObject({ code: 'NoSuchBucket' });
    await expect(nowhere.get('models/m-1/model.json')).rejects.toMatchObject({ code: 'NoSuchBucket' });
  });

  it('a reader whose version is collected under it by a republication reads the new version', async () => {
    await store.putSet('models/m-1', [{ name: 'model.json', body: 'old' }]);
    const writer = new S3BlobStore(s3Client(s3.settings(prefix)), s3.bucket, prefix);
    let interleaved = false;
    // Between the reader's resolving the set and its GET, another process republishes it (and collects the old version).
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand' && !interleaved) {
          interleaved = true;
          await writer.putSet('models/m-1', [{ name: 'model.json', body: 'new' }]);
        }
        return next(args);
      },
      { step: 'initialize' },
    );
    const stream = (await store.get('models/m-1/model.json'))!;
    expect(interleaved).toBe(true);
    expect((await readBlob(stream)).toString()).toBe('new');
  });
});
