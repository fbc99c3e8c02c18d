import { writeFile } from 'node:fs/promises';
import { createGzip } from 'node:zlib';
import sharp from 'sharp';
import tarStream from 'tar-stream';
import yazl from 'yazl';

/** Test archives built in memory: entries by name, with symlinks and raw (unchecked) names allowed. */
export interface TestEntry {
  name: string;
  bytes?: Buffer;
  symlinkTo?: string;
  /** A tar hard link (zip has none). */
  hardlinkTo?: string;
  folder?: boolean;
}

/**
 * yazl refuses unsafe names ('..', absolute, backslashes, drive letters), so those (ASCII) entries are written under a placeholder of
 * the same length and their name bytes patched in afterwards (local and central headers alike).
 */
export async function writeZip(file: string, entries: TestEntry[]): Promise<void> {
  const zip = new yazl.ZipFile();
  const patches: [string, string][] = [];
  entries.forEach((e, i) => {
    let name = e.name;
    if (name.startsWith('/') || name.split('/').includes('..') || /[\\:]/.test(name)) {
      const placeholder = `p${i}_`.padEnd(name.length, 'q');
      patches.push([placeholder, name]);
      name = placeholder;
    }
    if (e.folder) zip.addEmptyDirectory(name);
    else if (e.symlinkTo) zip.addBuffer(Buffer.from(e.symlinkTo), name, { mode: 0o120777 });
    else zip.addBuffer(e.bytes ?? Buffer.alloc(0), name);
  });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  let bytes = Buffer.concat(chunks);
  for (const [placeholder, name] of patches) bytes = Buffer.from(bytes.toString('latin1').split(placeholder).join(name), 'latin1');
  await writeFile(file, bytes);
}

export async function writeTar(file: string, entries: TestEntry[], gzip: boolean): Promise<void> {
  const pack = tarStream.pack();
  const out: Buffer[] = [];
  const stream = gzip ? pack.pipe(createGzip()) : pack;
  const done = (async () => {
    for await (const c of stream) out.push(c as Buffer);
  })();
  for (const e of entries) {
    if (e.folder) pack.entry({ name: e.name, type: 'directory' });
    else if (e.symlinkTo) pack.entry({ name: e.name, type: 'symlink', linkname: e.symlinkTo });
    else if (e.hardlinkTo) pack.entry({ name: e.name, type: 'link', linkname: e.hardlinkTo });
    else pack.entry({ name: e.name }, e.bytes ?? Buffer.alloc(0));
  }
  pack.finalize();
  await done;
  await writeFile(file, Buffer.concat(out));
}

/** A grey PNG of `side`x`side` filled with `value` plus a bright square whose place depends on `value`. */
export function greyPng(value: number, width = 8, height = 8): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height, value);
  pixels[(value % height) * width + (value % width)] = 255;
  return sharp(pixels, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toBuffer();
}

export function rgbJpeg(width: number, height: number, colour: { r: number; g: number; b: number }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } }).jpeg().toBuffer();
}
