import path from 'node:path';
import type { ImageStatistics } from '../data/image-statistics.js';
import type { SizeMode } from '../data/ingest/images.js';
import type { Classifier } from '../nn/classifier.js';
import { fromModelFiles, toModelFiles, weightsFileName } from '../nn/serialize.js';
import type { Normalization, Size3 } from '../nn/spec.js';
import { validateNetwork } from '../nn/spec.js';
import { InvalidKey, isKeySegment, joinKey, readBlob, type BlobObject, type BlobStore, type BlobStream, type PublicationFence } from './blob-store.js';
import { FileBlobStore } from './file-blob-store.js';

export { PublicationRefused, type PublicationFence } from './blob-store.js';

/** How a model did: the last mini-batch, the validation data and the test split; null for a value that was not a number. */
export interface ModelMetrics {
  miniBatchLoss: number | null;
  miniBatchAccuracy: number | null;
  validationLoss?: number | null;
  validationAccuracy?: number | null;
  testAccuracy?: number | null;
  testLoss?: number | null;
}

/**
 * The test split's evaluation at the end of training, as MATLAB's confusionchart shows it, and a
 * few misclassified test images (src/run/evaluation-report.ts).
 */
export interface ModelEvaluation {
  split: 'test';
  count: number;
  /** Rows are true classes, columns predicted ones, both in the order of the model's classes. */
  confusionMatrix: number[][];
  /** Per class; null for a class nothing was predicted as. */
  precision: (number | null)[];
  /** Per class; null for a class with no test images. */
  recall: (number | null)[];
  misclassified: {
    /** The object in the model's set holding the images as tiles of tileSize; null when there are none to show. */
    sprite: string | null;
    /** [height, width] of a tile: the model's input size. */
    tileSize: [number, number];
    /** Where each image is in the sprite (x, y: its tile's top-left pixel). */
    examples: { index: number; trueClass: string; predictedClass: string; probability: number; x: number; y: number }[];
  };
}

/**
 * Where a model's weights came from: the model it started from (null: from scratch) and which of
 * its layers took that model's weights, the dataset it was trained on, and how many times its run
 * resumed from a checkpoint (a worker died or stopped, the job went on).
 */
export interface ModelLineage {
  initialModel: { id: string; name?: string } | null;
  layersFromModel: string[];
  /** The network's other layers with learnables, and why each did not take the model's weights. */
  layersNotFromModel: { layer: string; reason: string }[];
  dataset: { id: string; name: string };
  resumedCount: number;
}

/**
 * What is kept with a trained model beside tfjs's files: the source of truth for prediction
 * (input size, normalisation, class names) and the record of how it was trained.
 */
export interface ModelManifest {
  formatVersion: 1;
  id: string;
  /** Its job's name, when it had one. */
  name?: string;
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
  /**
   * The dataset it was trained on, as predict needs it once the dataset is deleted: its id and
   * name, and how its images were brought to `inputSize` (predict converts images the same way;
   * `classes` are its class names). Absent in models trained before it was recorded: predict resizes.
   */
  dataset?: { id: string; name: string; sizeMode: SizeMode };
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
  /** Absent in models trained before it was recorded. */
  lineage?: ModelLineage;
  /** Absent for models trained before it was recorded, and for runs stopped before the test pass. */
  evaluation?: ModelEvaluation;
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
        return `the model store failed (${code})`;
    }
  }
}

/** A model whose manifest is there but whose files are missing or unreadable; the sentence is for a user. */
export class ModelUnreadable extends Error {
  constructor(
    readonly id: string,
    reason: string,
    remedy = 'delete it and train it again',
  ) {
    super(`model '${id}' cannot be loaded: ${reason}; ${remedy}`);
    this.name = 'ModelUnreadable';
  }
}

export const manifestFileName = 'manifest.json';
export const modelJsonFileName = 'model.json';
const modelFileNames = [modelJsonFileName, weightsFileName];

export interface LoadedModel {
  classifier: Classifier;
  manifest: ModelManifest;
  /** The manifest's etag when loaded: a republished or deleted model has another (or none). */
  version: string;
}

/**
 * Models by id in a BlobStore, each a set `<prefix>/<id>` of model.json, weights.bin and
 * manifest.json (the layout DATA_DIR/models has always had). It hands out manifests, loaded models
 * and streams of a model's files, never where they are kept. Manifests are cached by their etag: a
 * model is never changed in place, only replaced whole, so listing costs a head per model rather
 * than a read and a parse; and the tenant of every model is kept in an index that a listing of ids
 * brings up to date, so counting a tenant's models reads only manifests it has not seen.
 */
export class ModelStore {
  private readonly manifests = new Map<string, { etag: string; manifest: ModelManifest }>();
  /** Each known model's tenant ('' for none), and how many models each tenant has. */
  private readonly tenantOf = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly blobs: BlobStore,
    private readonly prefix = 'models',
  ) {}

  /** The models of a data directory: DATA_DIR/models. */
  static inDataDir(dataDir: string): ModelStore {
    return new ModelStore(new FileBlobStore(dataDir));
  }

  /** One model folder named by a user (the command line's --out and --model), and its id (the folder's name). */
  static atFolder(dir: string): { store: ModelStore; id: string } {
    const resolved = path.resolve(dir);
    return { store: new ModelStore(new FileBlobStore(path.dirname(resolved)), ''), id: path.basename(resolved) };
  }

  /**
   * Writes a model all-or-nothing: a reader never sees half of it. A failure of the store becomes
   * a ModelStoreError. Fenced by the job's attempt (the worker), a stale attempt's model is never
   * published over a later one's (PublicationRefused); unfenced (the command line), it replaces
   * whatever model had the id. `extras` are objects the manifest names (the evaluation's sprite).
   */
  async publish(classifier: Classifier, manifest: Omit<ModelManifest, 'files'>, fence?: PublicationFence, extras: BlobObject[] = []): Promise<ModelManifest> {
    const set = this.setOf(manifest.id);
    if (!set) throw new InvalidKey(manifest.id);
    const files = await toModelFiles(classifier, manifest.inputStatistics ? { inputStatistics: manifest.inputStatistics } : {});
    const full: ModelManifest = { ...manifest, files: modelFileNames };
    try {
      await this.blobs.putSet(
        set,
        [
          { name: weightsFileName, body: files.weights },
          { name: modelJsonFileName, body: JSON.stringify(files.modelJson) },
          ...extras,
          { name: manifestFileName, body: JSON.stringify(full, null, 2) },
        ],
        fence ? { fence } : {},
      );
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw code ? new ModelStoreError(code) : err;
    }
    this.indexed(full.id, full.tenant);
    return full;
  }

  /** The manifest, or null when there is no such model (or its manifest is unreadable: ModelUnreadable). */
  async manifest(id: string): Promise<ModelManifest | null> {
    const key = this.keyOf(id, manifestFileName);
    const head = key ? await this.blobs.head(key) : null;
    if (!key || !head) {
      this.forget(id);
      return null;
    }
    const cached = this.manifests.get(id);
    if (cached?.etag === head.etag) return cached.manifest;
    const stream = await this.blobs.get(key);
    if (!stream) {
      this.forget(id);
      return null;
    }
    const manifest = await this.parseManifest(id, stream);
    this.manifests.set(id, { etag: stream.etag, manifest });
    this.indexed(id, manifest.tenant);
    return manifest;
  }

  /** What changes whenever the model is republished, or null once it is gone: for caches of loaded models. */
  async version(id: string): Promise<string | null> {
    const key = this.keyOf(id, manifestFileName);
    return key ? ((await this.blobs.head(key))?.etag ?? null) : null;
  }

  /** The model for prediction, or null when there is none; ModelUnreadable when its files are missing or corrupt. */
  async load(id: string): Promise<LoadedModel | null> {
    const key = this.keyOf(id, manifestFileName);
    const stream = key ? await this.blobs.get(key) : null;
    if (!stream) return null;
    const manifest = await this.parseManifest(id, stream);
    const network = validateNetwork(manifest.network);
    if (!network.ok) throw new ModelUnreadable(id, `its network no longer validates (${network.problems.map((p) => p.message).join('; ')})`);
    // Both read at once, but a failure is reported in file order, so the same model always gives the same sentence.
    const reads = await Promise.allSettled([this.readFile(id, modelJsonFileName), this.readFile(id, weightsFileName)]);
    const [modelJson, weights] = reads.map((r) => {
      if (r.status === 'rejected') throw r.reason;
      return r.value;
    }) as [Buffer, Buffer];
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(modelJson.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new ModelUnreadable(id, `its ${modelJsonFileName} is not JSON`);
    }
    try {
      return { classifier: await fromModelFiles({ modelJson: parsed, weights }, network.value, manifest.classes), manifest, version: stream.etag };
    } catch (err) {
      throw new ModelUnreadable(id, `its files do not make a model (${(err as Error).message})`);
    }
  }

  /** Manifests of every complete model, newest first (unreadable ones left out). */
  async list(): Promise<ModelManifest[]> {
    const manifests = await Promise.all((await this.blobs.list(this.prefix)).map((id) => this.manifest(id).catch(() => null)));
    return manifests.filter((m): m is ModelManifest => m !== null).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** How many models a tenant keeps: one listing of ids, and a read only of manifests not seen before. */
  async countFor(tenant: string): Promise<number> {
    this.refreshing ??= this.refreshIndex().finally(() => {
      this.refreshing = null;
    });
    await this.refreshing;
    return this.counts.get(tenant) ?? 0;
  }

  /** Removes a model; false when there was none. */
  async delete(id: string): Promise<boolean> {
    const set = this.setOf(id);
    const deleted = set ? await this.blobs.deleteSet(set) : false;
    this.forget(id);
    return deleted;
  }

  /** One of a model's listed files as a stream, or null when the model or the file does not exist. */
  async file(id: string, name: string): Promise<BlobStream | null> {
    const manifest = await this.manifest(id);
    const key = this.keyOf(id, name);
    if (!manifest || !key || !manifest.files.includes(name)) return null;
    return this.blobs.get(key);
  }

  /** The sprite of misclassified test images the manifest names, or null when the model has none. */
  async misclassifiedImages(id: string): Promise<BlobStream | null> {
    const name = (await this.manifest(id))?.evaluation?.misclassified.sprite;
    const key = name ? this.keyOf(id, name) : null;
    return key ? this.blobs.get(key) : null;
  }

  /** The attempt that published a model: 0 for an unfenced one, or none there. */
  publishedAttempt(id: string): Promise<number> {
    const set = this.setOf(id);
    return set ? this.blobs.publishedAttempt(set) : Promise.resolve(0);
  }

  private async refreshIndex(): Promise<void> {
    const ids = new Set(await this.blobs.list(this.prefix));
    for (const id of [...this.tenantOf.keys()]) if (!ids.has(id)) this.forget(id);
    const unseen = [...ids].filter((id) => !this.tenantOf.has(id));
    // manifest() indexes what it reads; an unreadable model counts for no one until it is readable.
    await Promise.all(unseen.map((id) => this.manifest(id).catch(() => null)));
  }

  private indexed(id: string, tenant: string | undefined): void {
    const now = tenant ?? '';
    const before = this.tenantOf.get(id);
    if (before === now) return;
    if (before !== undefined) this.counts.set(before, (this.counts.get(before) ?? 1) - 1);
    this.tenantOf.set(id, now);
    this.counts.set(now, (this.counts.get(now) ?? 0) + 1);
  }

  private forget(id: string): void {
    this.manifests.delete(id);
    const tenant = this.tenantOf.get(id);
    if (tenant === undefined) return;
    this.tenantOf.delete(id);
    this.counts.set(tenant, (this.counts.get(tenant) ?? 1) - 1);
  }

  private async parseManifest(id: string, stream: BlobStream): Promise<ModelManifest> {
    try {
      return JSON.parse((await readBlob(stream)).toString('utf8')) as ModelManifest;
    } catch {
      // Without its manifest the model's owner is unknown, so no tenant can delete it through the API.
      throw new ModelUnreadable(id, `its ${manifestFileName} is not JSON`, 'an operator must remove it from the model store');
    }
  }

  private async readFile(id: string, name: string): Promise<Buffer> {
    const stream = await this.blobs.get(this.keyOf(id, name)!);
    if (!stream) throw new ModelUnreadable(id, `its ${name} is missing`);
    return readBlob(stream);
  }

  /** The model's set, or null for an id that cannot name one ('../etc', 'a/b'). */
  private setOf(id: string): string | null {
    return isKeySegment(id) ? joinKey(this.prefix, id) : null;
  }

  private keyOf(id: string, name: string): string | null {
    const set = this.setOf(id);
    return set ? joinKey(set, name) : null;
  }
}
