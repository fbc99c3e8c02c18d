import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { S3BlobStore, s3Client } from '../../src/store/s3-blob-store.js';
import { LocalS3 } from '../helpers/s3rver.js';
import { blobStoreContract } from './blob-store.contract.js';

let s3: LocalS3;
beforeAll(async () => {
  s3 = await LocalS3.start();
});
afterAll(() => s3.stop());

// Each test under a prefix of its own in the one bucket: the store must keep to its prefix.
blobStoreContract('S3BlobStore (s3rver)', async () => {
  const settings = s3.settings(`contract-${randomUUID()}`);
  const client = s3Client(settings);
  return { store: new S3BlobStore(client, settings.bucket, settings.prefix), cleanup: async () => client.destroy() };
});
