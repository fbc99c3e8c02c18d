/**
 * The BlobStore on a local (or shared network) filesystem: a set is a folder, an object a file, so
 * DATA_DIR keeps the layout it always had (DATA_DIR/models/<id>/model.json, ...). A set is written
 * into a hidden temporary sibling folder and renamed into place, which is what makes it atomic.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isKeySegment, keySegments, PublicationRefused, type BlobHead, type BlobObject, type BlobStore, type BlobStream, type PublicationFence } from './blob-store.js';

/** Inside a fenced set's folder: the attempt that published it (hidden, so never listed). */
const attemptFileName = '.attempt';

export class FileBlobStore implements BlobStore {
  constructor(readonly root: string) {}

  async putSet(set: string, objects: Iterable<BlobObject> | AsyncIterable<BlobObject>, options: { fence?: PublicationFence } = {}): Promise<void> {
    const dir = this.pathOf(set);
    const parent = path.dirname(dir);
    const tmp = path.join(parent, `.tmp-${path.basename(dir)}-${randomUUID()}`);
    try {
      await mkdir(parent, { recursive: true });
      await mkdir(tmp);
      for await (const object of objects) {
        if (!isKeySegment(object.name)) throw new Error(`invalid object name '${object.name}' in set '${set}'`);
        const file = path.join(tmp, object.name);
        if (typeof object.body === 'string' || object.body instanceof Uint8Array) await writeFile(file, object.body, { flag: 'wx' });
        else await pipeline(object.body, createWriteStream(file, { flags: 'wx' }));
      }
      await publishFolder(tmp, dir, options.fence);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true }).catch(() => {});
      throw err;
    }
  }

  async get(key: string): Promise<BlobStream | null> {
    // Opened before anything is returned: a missing file is null here, not an error mid-stream, and
    // the open file stays readable whole even if its folder is deleted or replaced meanwhile.
    const handle = await open(this.pathOf(key), 'r').catch(ifMissing(null));
    if (!handle) return null;
    try {
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close();
        return null;
      }
      return { key, size: info.size, etag: etagOf(info), body: handle.createReadStream() };
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
  }

  async head(key: string): Promise<BlobHead | null> {
    const info = await stat(this.pathOf(key)).catch(ifMissing(null));
    return info?.isFile() ? { key, size: info.size, etag: etagOf(info) } : null;
  }

  async list(prefix: string): Promise<string[]> {
    const names = await readdir(this.pathOf(prefix, true)).catch(ifMissing([] as string[]));
    return names.filter(isKeySegment).sort();
  }

  async deleteSet(set: string): Promise<boolean> {
    const dir = this.pathOf(set);
    // Renamed aside first, so a concurrent reader sees the set whole or gone.
    const doomed = path.join(path.dirname(dir), `.deleting-${path.basename(dir)}-${randomUUID()}`);
    try {
      await rename(dir, doomed);
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    await rm(doomed, { recursive: true, force: true });
    return true;
  }

  publishedAttempt(set: string): Promise<number> {
    return attemptOf(this.pathOf(set));
  }

  private pathOf(key: string, allowTop = false): string {
    return path.join(this.root, ...keySegments(key, { allowTop }));
  }
}

/** Device, inode, size and change time: a replaced file (always a new file here) gets a new one. */
function etagOf(info: { dev: number; ino: number; size: number; mtimeMs: number }): string {
  return `${info.dev.toString(36)}-${info.ino.toString(36)}-${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}`;
}

function isMissing(err: unknown): boolean {
  return ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');
}

function ifMissing<T>(value: T): (err: unknown) => T {
  return (err) => {
    if (isMissing(err)) return value;
    throw err;
  };
}

/**
 * Puts a finished temporary folder in place as `dir`. Unfenced (the command line), it replaces
 * whatever is there. Fenced (the worker), it is safe against a stale attempt of the same job, one
 * whose lock lapsed while a later attempt ran: the fence is asked before every step, and the folder
 * is only ever renamed onto a free name (a rename onto a non-empty folder fails), so once an attempt
 * has published, a stale one can at most find the name taken and give up — it never overwrites.
 * A folder left by an earlier attempt (one that published and then lost the job) is moved aside
 * first, and put back if it turns out to be a later attempt's after all. Throws PublicationRefused.
 */
async function publishFolder(tmp: string, dir: string, fence?: PublicationFence): Promise<void> {
  if (!fence) {
    // Moved aside and removed after, so the name is free only between two renames, not for a whole rm.
    const aside = path.join(path.dirname(dir), `.superseded-${path.basename(dir)}-${randomUUID()}`);
    const replaced = await rename(dir, aside).then(() => true, ifMissing(false));
    await rename(tmp, dir);
    if (replaced) await rm(aside, { recursive: true, force: true });
    return;
  }
  await writeFile(path.join(tmp, attemptFileName), String(fence.attempt));
  for (;;) {
    if (!(await fence.holds())) throw new PublicationRefused(fence.attempt);
    try {
      await rename(tmp, dir);
      return;
    } catch (err) {
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
    if ((await attemptOf(dir)) >= fence.attempt) throw new PublicationRefused(fence.attempt);
    const aside = path.join(path.dirname(dir), `.superseded-${path.basename(dir)}-${randomUUID()}`);
    try {
      await rename(dir, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    if ((await attemptOf(aside)) > fence.attempt) {
      await rename(aside, dir).catch(() => {});
      throw new PublicationRefused(fence.attempt);
    }
    await rm(aside, { recursive: true, force: true });
  }
}

async function attemptOf(dir: string): Promise<number> {
  const text = await readFile(path.join(dir, attemptFileName), 'utf8').catch(() => '0');
  return Number(text) || 0;
}
