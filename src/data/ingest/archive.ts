import { createReadStream } from 'node:fs';
import { lstat, open, opendir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import yauzl from 'yauzl';
import { BlockReader } from './block-reader.js';
import { ratioFloorBytes, type IngestLimits } from './limits.js';
import { IngestError, type SkipLog } from './skips.js';

/**
 * Streaming readers of uploaded archives (zip, tar, tar.gz). Entries are handed over one at a time
 * and an entry's bytes are read only when asked for, so memory holds one entry whatever the
 * archive's size. Every guard applies to what is declared or counted so far: the entry count, the
 * total uncompressed bytes, the compression ratio; `..`, absolute paths and links are skipped with
 * their reason, never written anywhere.
 */
export type ArchiveKind = 'zip' | 'tar' | 'tar.gz';
/** What ingestion reads: an archive file of one of those kinds, or a folder on this machine (the command line's). */
export type SourceKind = ArchiveKind | 'folder';

export interface ArchiveEntry {
  /** Folders are handed over too (a class folder may be empty); their `read` gives no bytes. */
  kind: 'file' | 'folder';
  /** Path inside the archive, '/'-separated, without a leading './'; checked safe. */
  name: string;
  /** Uncompressed size the archive declares (checked against the bytes while reading). */
  size: number;
  /** The entry's bytes. Not calling it skips them without decompressing (zip) or drains them (tar). */
  read(): Promise<Buffer>;
}

export type EntryVisitor = (entry: ArchiveEntry) => Promise<void>;

const zipMagic = [Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('PK\x05\x06', 'latin1')];

/** The archive's kind from its first bytes; the declared content type only words the error. */
export function detectArchiveKind(head: Buffer, contentType?: string): ArchiveKind {
  if (zipMagic.some((m) => head.subarray(0, 4).equals(m))) return 'zip';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  const declared = contentType ? ` (declared as ${contentType})` : '';
  throw new IngestError(`the upload${declared} is neither a zip, a tar nor a gzip-compressed tar archive: its first bytes match none of them`);
}

/** A folder is a folder; a file's kind comes from its first bytes. */
export async function detectArchiveFile(file: string, contentType?: string): Promise<SourceKind> {
  if ((await stat(file)).isDirectory()) return 'folder';
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return detectArchiveKind(head.subarray(0, bytesRead), contentType);
  } finally {
    await handle.close();
  }
}

/**
 * The safe form of an archive path, or the reason it is refused. Backslashes count as separators
 * (archives made on Windows); a leading '/' or drive letter, or any '..' segment, could write
 * outside wherever a naive extractor puts the files, so such entries are never used.
 */
export function checkEntryName(raw: string): { name: string } | { reason: string } {
  const slashed = raw.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) return { reason: 'absolute path' };
  const parts = slashed.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { reason: "path with '..'" };
  if (parts.some((p) => p.startsWith('.') || p === '__MACOSX')) return { reason: 'hidden or system file' };
  return { name: parts.join('/') };
}

/** Calls `visit` for each file entry of the archive (or folder) at `file`, in archive order (a folder's: by name). */
export async function readArchive(file: string, kind: SourceKind, limits: IngestLimits, skips: SkipLog, visit: EntryVisitor): Promise<void> {
  if (kind === 'folder') await readFolder(file, limits, skips, visit);
  else if (kind === 'zip') await readZip(file, limits, skips, visit);
  else await readTar(file, kind === 'tar.gz', limits, skips, visit);
}

class Budget {
  private entries = 0;
  private bytes = 0;
  constructor(
    private readonly limits: IngestLimits,
    private readonly what = 'archive',
  ) {}

  entry(size: number, name: string): void {
    this.entries += 1;
    if (this.entries > this.limits.entries) throw new IngestError(`the ${this.what} has more than ${this.limits.entries} entries (the most a dataset ${this.what} may have)`);
    this.bytes += size;
    if (this.bytes > this.limits.uncompressedBytes) {
      throw new IngestError(`the ${this.what}'s files add up to more than ${this.limits.uncompressedBytes} bytes uncompressed (reached at '${name}')`);
    }
    if (size > this.limits.entryBytes) throw new IngestError(`'${name}' is ${size} bytes uncompressed; one file may have at most ${this.limits.entryBytes}`);
  }
}

const isDirectory = (raw: string) => raw.endsWith('/') || raw.endsWith('\\');

async function readZip(file: string, limits: IngestLimits, skips: SkipLog, visit: EntryVisitor): Promise<void> {
  // decodeStrings off: yauzl would reject the whole archive for one '..' name; we skip that entry.
  const handle = await open(file, 'r');
  const reader = new BlockReader(handle, (await handle.stat()).size);
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromRandomAccessReader(reader, reader.size, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false }, (err, z) =>
      err ? reject(new IngestError(`the zip archive cannot be read: ${err.message}`)) : resolve(z),
    ),
  ).catch(async (err: unknown) => {
    await handle.close();
    throw err;
  });
  try {
    if (zip.entryCount > limits.entries) throw new IngestError(`the archive has ${zip.entryCount} entries; a dataset archive may have at most ${limits.entries}`);
    const budget = new Budget(limits);
    for (;;) {
      const entry = await new Promise<yauzl.Entry | null>((resolve, reject) => {
        const onEntry = (e: yauzl.Entry) => done(null, e);
        const onEnd = () => done(null, null);
        const onError = (err: Error) => done(err, null);
        const done = (err: Error | null, e: yauzl.Entry | null) => {
          zip.off('entry', onEntry).off('end', onEnd).off('error', onError);
          if (err) reject(new IngestError(`the zip archive is damaged: ${err.message}`));
          else resolve(e);
        };
        zip.on('entry', onEntry).on('end', onEnd).on('error', onError);
        zip.readEntry();
      });
      if (!entry) return;
      const raw = (entry.fileName as unknown as Buffer).toString('utf8');
      budget.entry(entry.uncompressedSize, raw);
      const checked = checkEntryName(raw);
      if ('reason' in checked) {
        skips.add(checked.reason, raw);
        continue;
      }
      if (isDirectory(raw)) {
        await visit({ kind: 'folder', name: checked.name, size: 0, read: () => Promise.resolve(Buffer.alloc(0)) });
        continue;
      }
      const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
      if (mode === 0o120000) {
        skips.add('link', raw);
        continue;
      }
      const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
      if (entry.uncompressedSize > ratioFloorBytes && ratio > limits.ratio) {
        throw new IngestError(`'${checked.name}' expands ${Math.round(ratio)} times (at most ${limits.ratio} is accepted): the archive looks like a zip bomb`);
      }
      await visit({
        kind: 'file',
        name: checked.name,
        size: entry.uncompressedSize,
        read: () =>
          new Promise<Readable>((resolve, reject) => zip.openReadStream(entry, (err, s) => (err ? reject(new IngestError(`'${checked.name}' cannot be read: ${err.message}`)) : resolve(s)))).then(
            (s) => collect(s, checked.name),
          ),
      });
    }
  } finally {
    zip.close();
  }
}

async function collect(stream: AsyncIterable<unknown>, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } catch (err) {
    if (err instanceof IngestError) throw err;
    throw new IngestError(`'${name}' cannot be read from the archive: ${(err as Error).message}`);
  }
  return Buffer.concat(chunks);
}

/** Counts bytes through a stream, so a tar.gz's expansion ratio can be checked as it grows. */
function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        onBytes(chunk.length);
        cb(null, chunk);
      } catch (err) {
        cb(err as Error);
      }
    },
  });
}

async function readTar(file: string, gzipped: boolean, limits: IngestLimits, skips: SkipLog, visit: EntryVisitor): Promise<void> {
  const extract = tarStream.extract();
  const source = createReadStream(file);
  let compressed = 0;
  let expanded = 0;
  const fail = (err: Error) => extract.destroy(err instanceof IngestError ? err : new IngestError(`the archive is damaged: ${err.message}`));
  if (gzipped) {
    const gunzip = createGunzip();
    const inCount = counter((n) => (compressed += n));
    const outCount = counter((n) => {
      expanded += n;
      if (expanded > ratioFloorBytes && expanded / compressed > limits.ratio) {
        throw new IngestError(`the archive expands more than ${limits.ratio} times when decompressed: it looks like a gzip bomb`);
      }
    });
    for (const s of [source, inCount, gunzip, outCount]) s.on('error', fail);
    source.pipe(inCount).pipe(gunzip).pipe(outCount).pipe(extract);
  } else {
    source.on('error', fail);
    source.pipe(extract);
  }
  const budget = new Budget(limits);
  try {
    for await (const entry of extract) {
      const { header } = entry;
      budget.entry(header.size ?? 0, header.name);
      const checked = checkEntryName(header.name);
      if (header.type === 'directory' && 'name' in checked) {
        entry.resume();
        await visit({ kind: 'folder', name: checked.name, size: 0, read: () => Promise.resolve(Buffer.alloc(0)) });
        continue;
      }
      if ('reason' in checked) {
        skips.add(checked.reason, header.name);
        entry.resume();
        continue;
      }
      const reason = tarTypeReason(header.type ?? 'file');
      if (reason !== null) {
        skips.add(reason, header.name);
        entry.resume();
        continue;
      }
      let consumed = false;
      await visit({
        kind: 'file',
        name: checked.name,
        size: header.size ?? 0,
        read: () => {
          consumed = true;
          return collect(entry, checked.name);
        },
      });
      if (!consumed) entry.resume();
    }
  } catch (err) {
    if (err instanceof IngestError) throw err;
    throw new IngestError(`the archive is damaged: ${(err as Error).message}`);
  } finally {
    source.destroy();
  }
}

function tarTypeReason(type: string): string | null {
  if (type === 'symlink' || type === 'link') return 'link';
  if (type !== 'file' && type !== 'contiguous-file') return `not a plain file (${type})`;
  return null;
}

/**
 * A folder tree read as an archive is: folders and files by name, each directory's entries sorted
 * (so a seed gives the same dataset on every machine), under the same entry, byte and name guards.
 * A link is followed only when it is a file inside the folder; one to a folder (a loop, or a tree
 * counted twice) or leading out of the folder is skipped as a link, as in an archive.
 */
async function readFolder(root: string, limits: IngestLimits, skips: SkipLog, visit: EntryVisitor): Promise<void> {
  const top = await realpath(root);
  const budget = new Budget(limits, 'folder');
  /** The file a link leads to, when it is one inside the folder; why it is skipped otherwise. */
  const follow = async (link: string): Promise<{ file: string; size: number } | { reason: string }> => {
    const target = await realpath(link).catch(() => null);
    if (!target) return { reason: 'link to nothing' };
    if (!target.startsWith(top + path.sep)) return { reason: 'link leaving the folder' };
    const info = await stat(target);
    return info.isFile() ? { file: target, size: info.size } : { reason: 'link' };
  };
  const walk = async (relative: string): Promise<void> => {
    const names: string[] = [];
    for await (const dirent of await opendir(path.join(top, relative))) names.push(dirent.name);
    for (const name of names.sort()) {
      const raw = relative === '' ? name : `${relative}/${name}`;
      const full = path.join(top, raw);
      const info = await lstat(full);
      const checked = checkEntryName(raw);
      const followed = info.isSymbolicLink() && 'name' in checked ? await follow(full) : null;
      budget.entry(followed && 'size' in followed ? followed.size : info.isFile() ? info.size : 0, raw);
      const reason = 'reason' in checked ? checked.reason : followed && 'reason' in followed ? followed.reason : info.isDirectory() || info.isFile() || followed ? null : 'not a plain file';
      if (reason !== null) {
        skips.add(reason, raw);
        continue;
      }
      const entryName = (checked as { name: string }).name;
      if (info.isDirectory()) {
        await visit({ kind: 'folder', name: entryName, size: 0, read: () => Promise.resolve(Buffer.alloc(0)) });
        await walk(raw);
        continue;
      }
      const file = followed && 'file' in followed ? followed : { file: full, size: info.size };
      await visit({ kind: 'file', name: entryName, size: file.size, read: () => readFile(file.file) });
    }
  };
  await walk('');
}
