import { IngestError, type SkipLog } from './skips.js';

/**
 * How an archive's files become labelled images. The layout is decided from the file names alone
 * (plus labels.csv's text), before any image is read. One wrapping top-level folder — what zipping
 * a folder gives — is unwrapped first. In order of precedence:
 *
 * IDX (MNIST format): image/label pairs named `<prefix>-images-idx3-ubyte[.gz]` and
 * `<prefix>-labels-idx1-ubyte[.gz]` (`.` instead of the last `-` too); `train*` prefixes are the
 * training split, `t10k*` / `test*` the test split:
 *   train-images-idx3-ubyte.gz   train-labels-idx1-ubyte.gz
 *   t10k-images-idx3-ubyte.gz    t10k-labels-idx1-ubyte.gz
 *
 * labels.csv beside the images, rows `path,label` (a first row `path,label` is a header):
 *   labels.csv        ("img/001.png,cat")
 *   img/001.png
 *   img/002.jpg
 *
 * Explicit split: `train/<class>/...` and `test/<class>/...`, optionally `validation/<class>/...`:
 *   train/cat/1.png   train/dog/7.png   test/cat/3.png   test/dog/9.png
 *
 * Folder per label (imageDatastore's 'foldernames'): `<class>/<image>`, deeper folders keep the
 * class of their top folder:
 *   cat/1.png   cat/more/2.png   dog/7.png
 */
export type LayoutKind = 'folders' | 'split-folders' | 'labels-csv' | 'idx' | 'built-in';
export type SplitName = 'train' | 'test' | 'validation';

export interface PlannedImage {
  /** The entry's name in the archive. */
  name: string;
  label: string;
  /** The split its folder names; null when the test split is to be drawn. */
  split: SplitName | null;
}

export interface ImagesPlan {
  kind: 'folders' | 'split-folders' | 'labels-csv';
  images: PlannedImage[];
  /** Class folders with no image file in them (reported; they are no class of the dataset). */
  emptyClasses: string[];
}

export interface IdxPair {
  split: 'train' | 'test' | null;
  images: string;
  labels: string;
}

export interface IdxPlan {
  kind: 'idx';
  pairs: IdxPair[];
}

export type LayoutPlan = ImagesPlan | IdxPlan;

export const imageExtensions = new Set(['png', 'jpg', 'jpeg', 'bmp', 'tif', 'tiff', 'webp']);
const splitFolders = new Map<string, SplitName>([
  ['train', 'train'],
  ['test', 'test'],
  ['validation', 'validation'],
]);
const idxImages = /^(.*)[-.]images[-.]idx3[-.]ubyte(\.gz)?$/;
const idxLabels = /^(.*)[-.]labels[-.]idx1[-.]ubyte(\.gz)?$/;
export const labelsCsvName = 'labels.csv';

const extension = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot > name.lastIndexOf('/') ? name.slice(dot + 1).toLowerCase() : '';
};
export const isImageName = (name: string) => imageExtensions.has(extension(name));

/**
 * The folder to strip from every name: the single top-level folder all entries share, unless
 * it is itself a split folder, or holds only loose images (then it is the one class folder).
 */
export function wrappingFolder(names: readonly string[]): string {
  if (names.length === 0) return '';
  const tops = new Set(names.map((n) => (n.includes('/') ? n.slice(0, n.indexOf('/')) : null)));
  if (tops.size !== 1 || tops.has(null)) return '';
  const top = [...tops][0]!;
  const wraps = names.some((n) => n.split('/').filter(Boolean).length >= 3 || n === `${top}/${labelsCsvName}` || idxImages.test(n));
  return wraps && !splitFolders.has(top.toLowerCase()) ? `${top}/` : '';
}

/**
 * Decides the layout. `files` are the archive's file names and `folders` its folder names, both
 * with the wrapping folder stripped; `labelsCsv` is labels.csv's text when the archive has one.
 * Files that fit no label are recorded in `skips`.
 */
export function planLayout(files: readonly string[], folders: readonly string[], labelsCsv: string | null, skips: SkipLog): LayoutPlan {
  const idx = planIdx(files);
  if (idx) return idx;
  if (labelsCsv !== null) return planCsv(files, labelsCsv, skips);
  const hasSplit = [...files, ...folders].some((n) => n.includes('/') && splitFolders.get(n.slice(0, n.indexOf('/')).toLowerCase()) === 'train');
  return hasSplit ? planSplitFolders(files, folders, skips) : planFolders(files, folders, skips, 'folders', null, '');
}

function planIdx(files: readonly string[]): IdxPlan | null {
  const labels = new Map<string, string>();
  for (const f of files) {
    const m = idxLabels.exec(f);
    if (m) labels.set(m[1]!, f);
  }
  const pairs: IdxPair[] = [];
  for (const f of files) {
    const m = idxImages.exec(f);
    if (!m) continue;
    const partner = labels.get(m[1]!);
    if (!partner) throw new IngestError(`'${f}' has no labels file beside it (expected '${m[1]}-labels-idx1-ubyte' or '.gz')`);
    const base = m[1]!.slice(m[1]!.lastIndexOf('/') + 1).toLowerCase();
    const split = base.startsWith('train') ? 'train' : base.startsWith('t10k') || base.startsWith('test') ? 'test' : null;
    pairs.push({ split, images: f, labels: partner });
  }
  return pairs.length > 0 ? { kind: 'idx', pairs } : null;
}

function planFolders(files: readonly string[], folders: readonly string[], skips: SkipLog, kind: ImagesPlan['kind'], split: SplitName | null, prefix: string): ImagesPlan {
  const images: PlannedImage[] = [];
  const classFolders = new Set<string>();
  for (const folder of folders) {
    const rest = folder.slice(prefix.length).replace(/\/$/, '');
    if (folder.startsWith(prefix) && rest !== '') classFolders.add(rest.split('/')[0]!);
  }
  const withImages = new Set<string>();
  for (const name of files) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) {
      skips.add('not in a class folder', name);
      continue;
    }
    const label = rest.slice(0, slash);
    classFolders.add(label);
    if (!isImageName(name)) {
      skips.add('not an image file', name);
      continue;
    }
    withImages.add(label);
    images.push({ name, label, split });
  }
  const emptyClasses = [...classFolders].filter((c) => !withImages.has(c)).sort();
  return { kind, images, emptyClasses };
}

function planSplitFolders(files: readonly string[], folders: readonly string[], skips: SkipLog): ImagesPlan {
  const images: PlannedImage[] = [];
  const empty = new Set<string>();
  const populated = new Set<string>();
  for (const [folder, split] of splitFolders) {
    const matching = (n: string) => n.toLowerCase().startsWith(`${folder}/`);
    const prefixOf = (n: string) => n.slice(0, folder.length + 1);
    const inSplit = files.filter(matching);
    const prefixes = new Set([...inSplit, ...folders.filter(matching)].map(prefixOf));
    for (const prefix of prefixes) {
      const plan = planFolders(files, folders, skips, 'split-folders', split, prefix);
      images.push(...plan.images);
      plan.emptyClasses.forEach((c) => empty.add(c));
      plan.images.forEach((i) => populated.add(i.label));
    }
  }
  for (const name of files) {
    const top = name.includes('/') ? name.slice(0, name.indexOf('/')).toLowerCase() : '';
    if (!splitFolders.has(top)) skips.add('outside the train/test/validation folders', name);
  }
  return { kind: 'split-folders', images, emptyClasses: [...empty].filter((c) => !populated.has(c)).sort() };
}

/** Minimal CSV: comma-separated, fields optionally in double quotes ("" for a quote inside). */
function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields.map((f) => f.trim());
}

function planCsv(files: readonly string[], text: string, skips: SkipLog): ImagesPlan {
  const present = new Set(files);
  const listed = new Set<string>();
  const images: PlannedImage[] = [];
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  lines.forEach((line, i) => {
    const [path, label, ...extra] = csvFields(line);
    if (i === 0 && path?.toLowerCase() === 'path' && label?.toLowerCase() === 'label') return;
    if (!path || !label || extra.length > 0) throw new IngestError(`${labelsCsvName} line ${i + 1} is not 'path,label': '${line.slice(0, 80)}'`);
    const name = path.replace(/^\.\//, '');
    if (!present.has(name)) {
      skips.add(`listed in ${labelsCsvName} but not in the archive`, name);
      return;
    }
    if (listed.has(name)) throw new IngestError(`${labelsCsvName} lists '${name}' twice (line ${i + 1})`);
    listed.add(name);
    images.push({ name, label, split: null });
  });
  for (const name of files) {
    if (name !== labelsCsvName && !listed.has(name)) skips.add(`not listed in ${labelsCsvName}`, name);
  }
  return { kind: 'labels-csv', images, emptyClasses: [] };
}
