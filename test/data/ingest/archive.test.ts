import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEntryName, detectArchiveFile, readArchive, type ArchiveKind } from '../../../src/data/ingest/archive.js';
import { defaultIngestLimits, type IngestLimits } from '../../../src/data/ingest/limits.js';
import { IngestError, SkipLog } from '../../../src/data/ingest/skips.js';
import { writeTar, writeZip, type TestEntry } from './archives.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ingest-archive-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const kinds: ArchiveKind[] = ['zip', 'tar', 'tar.gz'];

async function build(kind: ArchiveKind, entries: TestEntry[]): Promise<string> {
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}.${kind}`);
  if (kind === 'zip') await writeZip(file, entries);
  else await writeTar(file, entries, kind === 'tar.gz');
  return file;
}

async function list(file: string, limits: IngestLimits = defaultIngestLimits) {
  const skips = new SkipLog();
  const files = new Map<string, string>();
  const folders: string[] = [];
  await readArchive(file, await detectArchiveFile(file), limits, skips, async (e) => {
    if (e.kind === 'folder') folders.push(e.name);
    else files.set(e.name, (await e.read()).toString('latin1'));
  });
  return { files, folders, skips: skips.list() };
}

describe.each(kinds)('%s archives', (kind) => {
  it('are detected by their first bytes and read entry by entry', async () => {
    const file = await build(kind, [{ name: 'a/', folder: true }, { name: 'a/x.txt', bytes: Buffer.from('one') }, { name: './b/y.txt', bytes: Buffer.from('two') }]);
    expect(await detectArchiveFile(file, 'application/octet-stream')).toBe(kind);
    const { files, folders, skips } = await list(file);
    expect(Object.fromEntries(files)).toEqual({ 'a/x.txt': 'one', 'b/y.txt': 'two' });
    expect(folders).toEqual(['a']);
    expect(skips).toEqual([]);
  });

  it("skip '..', absolute paths and links, counted with their reason", async () => {
    const file = await build(kind, [
      { name: 'ok/a.txt', bytes: Buffer.from('a') },
      { name: 'ok/../../evil.txt', bytes: Buffer.from('x') },
      { name: '/etc/evil.txt', bytes: Buffer.from('x') },
      { name: 'ok/link.png', symlinkTo: '/etc/passwd' },
    ]);
    const { files, skips } = await list(file);
    expect([...files.keys()]).toEqual(['ok/a.txt']);
    const reasons = Object.fromEntries(skips.map((s) => [s.reason, s.examples]));
    expect(reasons["path with '..'"]).toEqual(['ok/../../evil.txt']);
    expect(reasons['link']).toEqual(['ok/link.png']);
    // tar-stream strips a leading '/' itself; zip keeps it and we refuse it.
    if (kind === 'zip') expect(reasons['absolute path']).toEqual(['/etc/evil.txt']);
  });

  it('give back entries larger than a read block, and many small ones across blocks, byte for byte', async () => {
    // Random bytes do not compress: the big entry spans several of the zip reader's 1 MiB blocks.
    const big = randomBytes(3 * 2 ** 20 + 7);
    const small = Array.from({ length: 300 }, (_, i) => ({ name: `s/${i}.bin`, bytes: big.subarray(i * 5000, i * 5000 + 4000 + i) }));
    const file = await build(kind, [...small.slice(0, 150), { name: 'b/big.bin', bytes: big }, ...small.slice(150)]);
    const { files } = await list(file);
    expect(files.size).toBe(301);
    for (const { name, bytes } of [...small, { name: 'b/big.bin', bytes: big }]) expect(Buffer.from(files.get(name)!, 'latin1').equals(bytes), name).toBe(true);
  });

  it('refuse more entries than the limit', async () => {
    const file = await build(kind, Array.from({ length: 6 }, (_, i) => ({ name: `f/${i}.txt`, bytes: Buffer.from('x') })));
    await expect(list(file, { ...defaultIngestLimits, entries: 5 })).rejects.toThrow(/more than 5 entries|6 entries/);
  });

  it('refuse more uncompressed bytes than the limit', async () => {
    const file = await build(kind, [{ name: 'f/a.bin', bytes: Buffer.alloc(3000) }, { name: 'f/b.bin', bytes: Buffer.alloc(3000) }]);
    await expect(list(file, { ...defaultIngestLimits, uncompressedBytes: 5000 })).rejects.toThrow(/more than 5000 bytes uncompressed/);
  });

  it('refuse an entry that expands past the ratio (a bomb)', async () => {
    if (kind === 'tar') return; // nothing is compressed
    const file = await build(kind, [{ name: 'f/zeros.bin', bytes: Buffer.alloc(4 << 20) }]);
    await expect(list(file, { ...defaultIngestLimits, ratio: 100 })).rejects.toThrow(/bomb/);
  });
});

it('absolute paths and drive letters are refused by the name check', () => {
  expect(checkEntryName('/a/b.png')).toEqual({ reason: 'absolute path' });
  expect(checkEntryName('C:\\a\\b.png')).toEqual({ reason: 'absolute path' });
  expect(checkEntryName('a\\..\\b.png')).toEqual({ reason: "path with '..'" });
  expect(checkEntryName('__MACOSX/a/._b.png')).toEqual({ reason: 'hidden or system file' });
  expect(checkEntryName('./a//b.png')).toEqual({ name: 'a/b.png' });
});

it('an upload of no known kind is refused with a sentence', async () => {
  const file = path.join(dir, 'junk.bin');
  await writeFile(file, Buffer.from('hello, not an archive'));
  await expect(detectArchiveFile(file, 'application/zip')).rejects.toThrow(IngestError);
  await expect(detectArchiveFile(file, 'application/zip')).rejects.toThrow(/declared as application\/zip/);
});

describe('folders (the command line reads a local folder as an archive)', () => {
  async function folder(files: Record<string, string>): Promise<string> {
    const root = path.join(dir, `folder-${Math.random().toString(36).slice(2)}`);
    for (const [name, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(root, name)), { recursive: true });
      await writeFile(path.join(root, name), text);
    }
    return root;
  }

  it('are read as a tree of folders and files, by name, with hidden files skipped', async () => {
    const root = await folder({ 'b/y.txt': 'two', 'a/x.txt': 'one', 'a/deeper/z.txt': 'three', 'a/.DS_Store': 'junk' });
    await mkdir(path.join(root, 'empty'));
    expect(await detectArchiveFile(root)).toBe('folder');
    const { files, folders, skips } = await list(root);
    expect([...files]).toEqual([['a/deeper/z.txt', 'three'], ['a/x.txt', 'one'], ['b/y.txt', 'two']]);
    expect(folders).toEqual(['a', 'a/deeper', 'b', 'empty']);
    expect(skips).toEqual([{ reason: 'hidden or system file', count: 1, examples: ['a/.DS_Store'] }]);
  });

  it('follow a link to a file inside the folder, and skip links leaving it or to folders', async () => {
    const outside = await folder({ 'secret.txt': 'outside' });
    const root = await folder({ 'a/x.txt': 'one' });
    await symlink(path.join(root, 'a/x.txt'), path.join(root, 'a/inside.txt'));
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'a/leaving.txt'));
    await symlink(path.join(root, 'a'), path.join(root, 'loop'));
    await symlink(path.join(root, 'nothing'), path.join(root, 'a/dangling.txt'));
    const { files, skips } = await list(root);
    expect(Object.fromEntries(files)).toEqual({ 'a/inside.txt': 'one', 'a/x.txt': 'one' });
    const reasons = Object.fromEntries(skips.map((s) => [s.reason, s.examples]));
    expect(reasons).toEqual({ 'link leaving the folder': ['a/leaving.txt'], link: ['loop'], 'link to nothing': ['a/dangling.txt'] });
  });

  it('refuse more entries or bytes than the limits', async () => {
    const root = await folder(Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f/${i}.txt`, 'x'.repeat(1000)])));
    await expect(list(root, { ...defaultIngestLimits, entries: 5 })).rejects.toThrow(/the folder has more than 5 entries/);
    await expect(list(root, { ...defaultIngestLimits, uncompressedBytes: 5000 })).rejects.toThrow(/folder's files add up to more than 5000 bytes/);
    await expect(list(root, { ...defaultIngestLimits, entryBytes: 999 })).rejects.toThrow(/'f\/0.txt' is 1000 bytes/);
  });
});
