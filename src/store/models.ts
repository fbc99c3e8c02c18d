import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageStatistics } from '../data/image-statistics.js';
import type { Classifier } from '../nn/classifier.js';
import { fromModelFiles, toModelFiles, weightsFileName } from '../nn/serialize.js';
import type { Normalization, Size3 } from '../nn/spec.js';
import { validateNetwork } from '../nn/spec.js';

/** How a model did: the last mini-batch, the validation data and the test split. */
export interface ModelMetrics {
  miniBatchLoss: number | null;
  miniBatchAccuracy: number | null;
  validationLoss?: number;
  validationAccuracy?: number;
  testAccuracy?: number;
  testLoss?: number;
}

/**
 * What is kept with a trained model beside tfjs's files: the source of truth for prediction
 * (input size, normalisation, class names) and the record of how it was trained.
 */
export interface ModelManifest {
  formatVersion: 1;
  id: string;
  createdAt: string;
  /** The network as submitted; validating it again gives every layer's sizes. */
  network: unknown;
  classes: string[];
  inputSize: Size3;
  /** The statistics themselves are the input layer's weights `offset` and `scale`: x' = (x - offset) * scale. */
  normalization: { type: Normalization; offsetShape: Size3 | null };
  /**
   * Value range, brightness and polarity of the training images, before normalisation: predict
   * refuses values outside the range and warns about images unlike them. Absent in models trained
   * before it was recorded; those predict without the checks.
   */
  inputStatistics?: ImageStatistics;
  training: {
    options: unknown;
    dataset: string;
    trainImages: number;
    /** adapter: the GPU adapter, for backends that pick one (webgpu); absent otherwise. */
    backend: { name: string; package: string; device: string; reason: string; adapter?: { vendor: string; architecture: string; description: string } };
    stopReason: string;
    iterations: number;
    epochs: number;
    trainingSeconds: number;
    finalizeSeconds: number;
    seed: number;
  };
  metrics: ModelMetrics;
  /** The job that trained it, and its tenant, when it came through the service. */
  jobId?: string;
  tenant?: string;
  files: string[];
}

/** A model that could not be written, in words fit for a user: no server paths. */
export class ModelStoreError extends Error {
  constructor(readonly code: string) {
    super(`the model could not be saved: ${ModelStoreError.explain(code)}`);
    this.name = 'ModelStoreError';
  }

  static explain(code: string): string {
    switch (code) {
      case 'ENOSPC':
      case 'EDQUOT':
        return 'the model store is out of space (ENOSPC)';
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        return `the model store is not writable (${code})`;
      case 'ENOTDIR':
      case 'EEXIST':
        return `the model store's folder is not a folder (${code})`;
      default:
        return `the file system failed (${code})`;
    }
  }
}

export const manifestFileName = 'manifest.json';
export const modelJsonFileName = 'model.json';
const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Writes a model folder. Everything goes into a temporary sibling folder first and is renamed into
 * place at the end, so a reader never sees half a model. A file-system failure becomes a
 * ModelStoreError, and the temporary folder is removed.
 */
export async function writeModelFolder(dir: string, classifier: Classifier, manifest: Omit<ModelManifest, 'files'>): Promise<ModelManifest> {
  const files = await toModelFiles(classifier, manifest.inputStatistics ? { inputStatistics: manifest.inputStatistics } : {});
  const parent = path.dirname(path.resolve(dir));
  const tmp = path.join(parent, `.tmp-${path.basename(dir)}-${randomUUID()}`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(tmp);
    await writeFile(path.join(tmp, weightsFileName), files.weights);
    await writeFile(path.join(tmp, modelJsonFileName), JSON.stringify(files.modelJson));
    const full: ModelManifest = { ...manifest, files: [modelJsonFileName, weightsFileName] };
    await writeFile(path.join(tmp, manifestFileName), JSON.stringify(full, null, 2));
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return full;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    const code = (err as NodeJS.ErrnoException).code;
    throw code ? new ModelStoreError(code) : err;
  }
}

export async function readManifest(dir: string): Promise<ModelManifest> {
  return JSON.parse(await readFile(path.join(dir, manifestFileName), 'utf8')) as ModelManifest;
}

/** Loads a model folder for prediction; no tfjs-node file:// handler needed. */
export async function readModelFolder(dir: string): Promise<{ classifier: Classifier; manifest: ModelManifest }> {
  const manifest = await readManifest(dir);
  const network = validateNetwork(manifest.network);
  if (!network.ok) throw new Error(`model ${dir}: its network no longer validates: ${network.problems.map((p) => p.message).join('; ')}`);
  const [modelJson, weights] = await Promise.all([
    readFile(path.join(dir, modelJsonFileName), 'utf8').then((text) => JSON.parse(text) as Record<string, unknown>),
    readFile(path.join(dir, weightsFileName)),
  ]);
  const classifier = await fromModelFiles({ modelJson, weights }, network.value, manifest.classes);
  return { classifier, manifest };
}

/**
 * Models by id under one root folder (DATA_DIR/models). Manifests are cached by the identity of
 * their folder (device and inode): a folder is never changed in place, only replaced by a rename,
 * so listing many models costs a stat each rather than a read and a parse.
 */
export class ModelStore {
  private readonly cache = new Map<string, { identity: string; manifest: ModelManifest }>();

  constructor(readonly root: string) {}

  static isValidId(id: string): boolean {
    return idPattern.test(id);
  }

  folder(id: string): string {
    if (!ModelStore.isValidId(id)) throw new Error(`invalid model id '${id}'`);
    return path.join(this.root, id);
  }

  save(classifier: Classifier, manifest: Omit<ModelManifest, 'files'>): Promise<ModelManifest> {
    return writeModelFolder(this.folder(manifest.id), classifier, manifest);
  }

  /** The manifest, or null when there is no such model. */
  async manifest(id: string): Promise<ModelManifest | null> {
    if (!ModelStore.isValidId(id)) return null;
    try {
      const folder = await stat(this.folder(id));
      const identity = `${folder.dev}:${folder.ino}`;
      const cached = this.cache.get(id);
      if (cached?.identity === identity) return cached.manifest;
      const manifest = await readManifest(this.folder(id));
      this.cache.set(id, { identity, manifest });
      return manifest;
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) {
        this.cache.delete(id);
        return null;
      }
      throw err;
    }
  }

  load(id: string): Promise<{ classifier: Classifier; manifest: ModelManifest }> {
    return readModelFolder(this.folder(id));
  }

  /** Manifests of every complete model, newest first. */
  async list(): Promise<ModelManifest[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (err) {
      // No folder yet, or something else in its place (saving then fails with a clear reason).
      if (['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return [];
      throw err;
    }
    const manifests = await Promise.all(names.filter((n) => ModelStore.isValidId(n)).map((n) => this.manifest(n)));
    return manifests.filter((m): m is ModelManifest => m !== null).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Removes a model; false when there was none. */
  async delete(id: string): Promise<boolean> {
    if (!(await this.manifest(id))) return false;
    // Rename first so a concurrent reader sees the model either whole or gone.
    const doomed = path.join(this.root, `.deleting-${id}-${randomUUID()}`);
    await rename(this.folder(id), doomed);
    this.cache.delete(id);
    await rm(doomed, { recursive: true, force: true });
    return true;
  }

  /** Path of one of a model's files, or null when the model or the file does not exist. */
  async file(id: string, name: string): Promise<string | null> {
    const manifest = await this.manifest(id);
    if (!manifest || !manifest.files.includes(name)) return null;
    const file = path.join(this.folder(id), name);
    return (await stat(file).catch(() => null))?.isFile() ? file : null;
  }
}
