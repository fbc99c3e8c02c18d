import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll } from 'vitest';
import { S3BlobStore, s3Client, type S3Settings } from '../../src/store/s3-blob-store.js';

/**
 * A real S3 protocol server (s3rver, keeping objects in a temporary folder) on a free port, with
 * one bucket. The AWS SDK talks to it over HTTP exactly as to S3.
 */
export class LocalS3 {
  private constructor(
    private readonly server: S3rver,
    private readonly dir: string,
    readonly endpoint: string,
    readonly bucket: string,
  ) {}

  static async start(bucket = 'trainyard-test'): Promise<LocalS3> {
    const dir = await mkdtemp(path.join(tmpdir(), 'trainyard-s3rver-'));
    const server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
    const { port } = await server.run();
    return new LocalS3(server, dir, `http://127.0.0.1:${port}`, bucket);
  }

  /** Settings for a store under `prefix` in the bucket (s3rver takes its own fixed credentials). */
  settings(prefix = ''): S3Settings {
    return { bucket: this.bucket, prefix, endpoint: this.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } };
  }

  /** A store under a prefix of its own in the bucket (so tests sharing the server never meet), and its client. */
  store(prefix = `t-${randomUUID()}`): { store: S3BlobStore; client: S3Client; prefix: string } {
    const client = s3Client(this.settings(prefix));
    return { store: new S3BlobStore(client, this.bucket, prefix), client, prefix };
  }

  /** The same settings as the environment the service reads them from. */
  env(prefix: string): Record<string, string> {
    return {
      STORE_URL: `s3://${this.bucket}/${prefix}`,
      S3_ENDPOINT: this.endpoint,
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    };
  }

  async stop(): Promise<void> {
    // Clients keep connections alive; close() alone would wait for them.
    this.server.httpServer?.closeAllConnections();
    await this.server.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** One LocalS3 for the tests of a file: started before them, stopped after; the function gives it. */
export function localS3ForFile(): () => LocalS3 {
  let s3: LocalS3 | undefined;
  beforeAll(async () => {
    s3 = await LocalS3.start();
  });
  afterAll(() => s3?.stop());
  return () => s3!;
}
