import type { LoadedModel, ModelStore } from '../../store/models.js';

interface Entry {
  version: string;
  loaded: Promise<LoadedModel | null>;
}

/**
 * Loaded models for predict, at most `capacity` of them, least recently used evicted (and its
 * tensors freed). Concurrent first requests for a model share one load. Every get asks the store
 * for the model's version (its manifest's etag), so a model deleted or republished by another
 * process (an API replica, a retried job's worker) is never served from memory.
 */
export class ModelCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly store: Pick<ModelStore, 'version' | 'load'>,
    private readonly capacity: number,
  ) {}

  /** The loaded model, or null when there is no such model; ModelUnreadable when its files are missing or corrupt. */
  async get(id: string): Promise<LoadedModel | null> {
    const version = await this.store.version(id);
    const cached = this.entries.get(id);
    if (version === null) {
      if (cached) this.evict(id);
      return null;
    }
    if (cached?.version === version) {
      this.entries.delete(id);
      this.entries.set(id, cached);
      return cached.loaded;
    }
    if (cached) this.evict(id);
    // Kept under the version just read: if the model is replaced while it loads, the next get
    // sees another version and loads again.
    const loaded = this.store.load(id);
    const entry: Entry = { version, loaded };
    this.entries.set(id, entry);
    const drop = () => {
      if (this.entries.get(id) === entry) this.entries.delete(id);
    };
    loaded.then((model) => model ?? drop(), drop);
    this.evictBeyondCapacity();
    return loaded;
  }

  /** Forgets a model (deleted, or replaced by a retried job) and frees its tensors. */
  evict(id: string): void {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    void entry?.loaded.then((m) => m?.classifier.dispose()).catch(() => {});
  }

  clear(): void {
    for (const id of [...this.entries.keys()]) this.evict(id);
  }

  private evictBeyondCapacity(): void {
    while (this.entries.size > this.capacity) this.evict(this.entries.keys().next().value!);
  }
}
