/**
 * The BlobStore on S3-compatible object storage (AWS S3, MinIO, Ceph, R2, s3rver in the tests), for
 * deployments whose API and workers do not share a disk (STORE_URL=s3://bucket/prefix).
 *
 * Object storage has no rename, so publication is made atomic another way. Under the configured
 * prefix the store keeps two namespaces, both named with a leading dot (which no key segment may
 * have, so they never meet a set's own names):
 *
 *   .data/<set>/<version>/<name>                  the objects of one publication of a set
 *   .sets/<set>/.p<attempt>.<order>.<version>    an empty pointer object: "this version is published"
 *   .sets/<folder>/.folder                        an empty marker for each folder above a set ('models')
 *
 * putSet uploads every object under a fresh version (a multipart upload for a large or streamed
 * one), and only then writes the small pointer. Readers resolve a set by listing its pointers and
 * taking the greatest name, so until the pointer exists they see the set as it was, and the moment
 * it exists they see every object of the new version. Pointers are never overwritten: each
 * publication writes one of its own, whose name sorts by attempt first (a later attempt of a job
 * always wins, whatever the clocks say) and then by order (a time, made greater than any pointer
 * already there, so a republication wins over what it saw). Superseded pointers are deleted lowest
 * first, then their versions' objects; a set at rest has one pointer. deleteSet removes the
 * pointers (the current one last) before any object, so readers see the set whole or gone.
 *
 * The folder markers make a set's parents listable on every S3-compatible server (s3rver finds a
 * common prefix only one folder deep), and keep them listed after their last set goes, as the
 * filesystem keeps its folders.
 *
 * Fenced (the worker): before the pointer is written, no pointer of the same or a later attempt may
 * exist and fence.holds() must answer yes, as the filesystem asks before its rename; after it is
 * written, a pointer of a later attempt that appeared meanwhile (two attempts publishing at once)
 * means this one lost: its pointer and objects are removed and it is refused.
 *
 * Garbage: a putSet that fails removes what it uploaded; one whose process died leaves a version no
 * pointer names, removed by the next publication or deletion of that set once it is older than
 * `abandonedAfterMs` (so a slow upload in progress is never taken for one). Multipart uploads a dead
 * process left incomplete are the bucket's lifecycle rule's to abort (README, "Object storage").
 *
 * A reader that resolved a version just before a republication collected it finds its object gone;
 * it resolves the set again and reads the new version (or answers null if the set is gone).
 * Requires what S3 and its compatibles give: strongly consistent reads and listings after a write.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { isKeySegment, keySegments, PublicationRefused, type BlobHead, type BlobObject, type BlobStore, type BlobStream, type PublicationFence } from './blob-store.js';

/** How to reach the object store: STORE_URL's bucket and prefix, and the S3_* and AWS_* settings. */
export interface S3Settings {
  bucket: string;
  /** Key prefix inside the bucket ('' for none), without a trailing '/'. */
  prefix: string;
  /** An S3-compatible server's URL; null for AWS itself. */
  endpoint: string | null;
  region: string;
  forcePathStyle: boolean;
  /** Static credentials, or null for the SDK's default chain (instance role, web identity, profile). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
}

export function s3Client(settings: S3Settings): S3Client {
  const client = new S3Client({
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    // S3-compatible servers (s3rver, older MinIO and Ceph) reject or mis-check the flexible checksums
    // the SDK sends by default since 2025; against AWS itself the defaults stay.
    ...(settings.endpoint ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const } : {}),
  });
  // The store's callers report a failure by its `code`, as the filesystem's errors have one
  // (ModelStoreError): S3's errors get theirs from their name (AccessDenied, NoSuchBucket, SlowDown).
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        const e = err as { name?: string; code?: string; $metadata?: unknown };
        if (e.$metadata && e.name && e.code === undefined) e.code = e.name;
        throw err;
      }
    },
    { step: 'initialize', name: 'trainyardErrorCode' },
  );
  return client;
}

/** A version left without a pointer for this long is taken to be from a process that died mid-upload. */
export const abandonedAfterMs = 24 * 60 * 60 * 1000;
/** Streamed objects go up in parts of this size (S3's least is 5 MiB), a few at a time: memory per upload stays bounded. */
const defaultPartBytes = 8 * 1024 * 1024;
const partsInFlight = 2;
/** Times a reader resolves a set again after finding its object collected by a republication. */
const resolveTries = 3;

const folderMarker = '.folder';
const pointerPattern = /^\.p(\d{10})\.([0-9a-z]{10})\.([0-9a-z]{10}-[0-9a-f-]{36})$/;

interface Pointer {
  name: string;
  attempt: number;
  order: number;
  version: string;
}

export class S3BlobStore implements BlobStore {
  private readonly root: string;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    prefix = '',
    private readonly partBytes = defaultPartBytes,
  ) {
    this.root = prefix === '' ? '' : `${prefix}/`;
  }

  async putSet(set: string, objects: Iterable<BlobObject> | AsyncIterable<BlobObject>, options: { fence?: PublicationFence } = {}): Promise<void> {
    keySegments(set);
    const { fence } = options;
    const version = `${stamp(Date.now())}-${randomUUID()}`;
    let published: Pointer;
    try {
      // Refused before uploading anything where a later attempt has published already.
      if (fence && (await this.pointersOf(set)).pointers.some((p) => p.attempt >= fence.attempt)) throw new PublicationRefused(fence.attempt);
      const names = new Set<string>();
      for await (const object of objects) {
        if (!isKeySegment(object.name)) throw new Error(`invalid object name '${object.name}' in set '${set}'`);
        if (names.has(object.name)) throw new Error(`object '${object.name}' given twice in set '${set}'`);
        names.add(object.name);
        await this.upload(this.dataKey(set, version, object.name), object.body);
      }
      await this.markFolders(set);
      published = await this.publishPointer(set, version, fence);
    } catch (err) {
      await this.deleteUnder(this.versionPrefix(set, version)).catch(() => {});
      throw err;
    }
    // Published; what follows only tidies up, and what it misses the next publication or deletion collects.
    await this.collect(set, published).catch(() => {});
  }

  get(key: string): Promise<BlobStream | null> {
    return this.resolved(key, async (dataKey, pointer) => {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: dataKey }));
      return { key, size: out.ContentLength ?? 0, etag: etagOf(pointer, out.ETag), body: out.Body as Readable };
    });
  }

  head(key: string): Promise<BlobHead | null> {
    return this.resolved(key, async (dataKey, pointer) => {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: dataKey }));
      return { key, size: out.ContentLength ?? 0, etag: etagOf(pointer, out.ETag) };
    });
  }

  async list(prefix: string): Promise<string[]> {
    keySegments(prefix, { allowTop: true });
    for (let tries = 0; ; tries++) {
      const { pointers, children } = await this.pointersOf(prefix);
      const current = pointers.at(-1);
      if (!current) return [...children].sort();
      const objects = (await this.listNames(this.versionPrefix(prefix, current.version))).objects;
      // The version must still be the published one after it was listed, or the listing may be partial.
      if ((await this.pointersOf(prefix)).pointers.at(-1)?.name === current.name || tries + 1 >= resolveTries) {
        return [...new Set([...children, ...objects.filter(isKeySegment)])].sort();
      }
    }
  }

  async deleteSet(set: string): Promise<boolean> {
    keySegments(set);
    const { pointers } = await this.pointersOf(set);
    if (pointers.length === 0) return false;
    await this.retire(set, pointers);
    await this.sweepAbandoned(set);
    return true;
  }

  async publishedAttempt(set: string): Promise<number> {
    keySegments(set);
    return (await this.pointersOf(set)).pointers.at(-1)?.attempt ?? 0;
  }

  /** Resolves an object key to its published version's S3 key and runs `read` on it; null when there is no such object. */
  private async resolved<T>(key: string, read: (dataKey: string, pointer: Pointer) => Promise<T>): Promise<T | null> {
    const segments = keySegments(key);
    const name = segments.pop()!;
    const set = segments.join('/');
    let tried: string | null = null;
    for (let tries = 0; tries < resolveTries; tries++) {
      const pointer = (await this.pointersOf(set)).pointers.at(-1);
      // Gone, or found missing in this very version: the object does not exist.
      if (!pointer || pointer.name === tried) return null;
      try {
        return await read(this.dataKey(set, pointer.version, name), pointer);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      tried = pointer.name;
    }
    return null;
  }

  private async publishPointer(set: string, version: string, fence?: PublicationFence): Promise<Pointer> {
    const { pointers } = await this.pointersOf(set);
    if (fence) {
      if (pointers.some((p) => p.attempt >= fence.attempt)) throw new PublicationRefused(fence.attempt);
      if (!(await fence.holds())) throw new PublicationRefused(fence.attempt);
    }
    const attempt = fence?.attempt ?? 0;
    const order = Math.max(Date.now(), ...pointers.map((p) => p.order + 1));
    const pointer: Pointer = { name: `.p${String(attempt).padStart(10, '0')}.${stamp(order)}.${version}`, attempt, order, version };
    await this.putEmpty(this.pointersPrefix(set) + pointer.name);
    if (fence && (await this.pointersOf(set)).pointers.some((p) => p.attempt > attempt)) {
      await this.deleteKeys([this.pointersPrefix(set) + pointer.name]);
      throw new PublicationRefused(attempt);
    }
    return pointer;
  }

  /** Marks each folder above the set ('models' for 'models/m-1'), so listing their parent finds them. */
  private async markFolders(set: string): Promise<void> {
    const segments = keySegments(set);
    for (let depth = 1; depth < segments.length; depth++) await this.putEmpty(`${this.pointersPrefix(segments.slice(0, depth).join('/'))}${folderMarker}`);
  }

  private async putEmpty(key: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: '', ContentLength: 0 }));
  }

  /**
   * After `published` went up: removes the pointers it supersedes (fenced: those below it; unfenced,
   * which replaces whatever was there: every other, unless a later unfenced publication superseded
   * it in turn) and their objects, then abandoned versions.
   */
  private async collect(set: string, published: Pointer): Promise<void> {
    const { pointers } = await this.pointersOf(set);
    const winner = published.attempt > 0 ? published : (pointers.filter((p) => p.attempt === 0).at(-1) ?? published);
    const superseded = published.attempt > 0 ? pointers.filter((p) => p.name < published.name) : pointers.filter((p) => p.name !== winner.name);
    await this.retire(set, superseded);
    await this.sweepAbandoned(set);
  }

  /** Deletes pointers lowest first (so readers see the greatest until it goes), then their versions' objects. */
  private async retire(set: string, pointers: Pointer[]): Promise<void> {
    const sorted = [...pointers].sort((a, b) => (a.name < b.name ? -1 : 1));
    if (sorted.length > 1) await this.deleteKeys(sorted.slice(0, -1).map((p) => this.pointersPrefix(set) + p.name));
    if (sorted.length > 0) await this.deleteKeys([this.pointersPrefix(set) + sorted.at(-1)!.name]);
    for (const p of sorted) await this.deleteUnder(this.versionPrefix(set, p.version));
  }

  /** Removes versions of a set that no pointer names and that are older than `abandonedAfterMs`. */
  private async sweepAbandoned(set: string): Promise<void> {
    const { children: versions } = await this.listNames(`${this.root}.data/${set}/`);
    if (versions.length === 0) return;
    const named = new Set((await this.pointersOf(set)).pointers.map((p) => p.version));
    const cutoff = Date.now() - abandonedAfterMs;
    for (const version of versions) {
      const made = parseInt(version.slice(0, 10), 36);
      if (!named.has(version) && Number.isFinite(made) && made < cutoff) await this.deleteUnder(this.versionPrefix(set, version));
    }
  }

  /** The set's pointers, ascending (the last is the published one), and the names of sets nested under it. */
  private async pointersOf(set: string): Promise<{ pointers: Pointer[]; children: string[] }> {
    const { objects, children } = await this.listNames(this.pointersPrefix(set));
    const pointers = objects.flatMap((name) => {
      const match = pointerPattern.exec(name);
      return match ? [{ name, attempt: Number(match[1]), order: parseInt(match[2]!, 36), version: match[3]! }] : [];
    });
    return { pointers: pointers.sort((a, b) => (a.name < b.name ? -1 : 1)), children: children.filter(isKeySegment) };
  }

  /** Names directly under an S3 prefix: objects and common prefixes ('folders'), every page of them. */
  private async listNames(prefix: string): Promise<{ objects: string[]; children: string[] }> {
    const objects: string[] = [];
    const children: string[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const o of page.Contents ?? []) if (o.Key) objects.push(o.Key.slice(prefix.length));
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) children.push(p.Prefix.slice(prefix.length, -1));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return { objects, children };
  }

  /** Deletes every object under an S3 prefix (one version of a set holds no deeper keys). */
  private async deleteUnder(prefix: string): Promise<void> {
    const { objects } = await this.listNames(prefix);
    await this.deleteKeys(objects.map((name) => prefix + name));
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      const failed = out.Errors?.[0];
      if (failed) throw new Error(`the object store did not delete '${failed.Key}': ${failed.Code} ${failed.Message}`);
    }
  }

  /** One object: a single PUT when small, a multipart upload of bounded memory when large or streamed. */
  private async upload(key: string, body: BlobObject['body']): Promise<void> {
    const Body = typeof body === 'string' || body instanceof Uint8Array ? body : Readable.from(body, { objectMode: false });
    await new Upload({ client: this.client, params: { Bucket: this.bucket, Key: key, Body }, partSize: this.partBytes, queueSize: partsInFlight }).done();
  }

  private pointersPrefix(set: string): string {
    return `${this.root}.sets/${set === '' ? '' : `${set}/`}`;
  }

  private versionPrefix(set: string, version: string): string {
    return `${this.root}.data/${set}/${version}/`;
  }

  private dataKey(set: string, version: string, name: string): string {
    return this.versionPrefix(set, version) + name;
  }
}

/** A time in ms as 10 base-36 digits, so names sort by it (good for the next 100,000 years). */
function stamp(ms: number): string {
  return ms.toString(36).padStart(10, '0');
}

/** Unique per publication (the version) and per content (S3's own etag). */
function etagOf(pointer: Pointer, s3Etag: string | undefined): string {
  return `${pointer.version}:${(s3Etag ?? '').replaceAll('"', '')}`;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}
