import type { Classifier } from '../../nn/classifier.js';
import type { ModelManifest, ModelStore } from '../../store/models.js';

interface Loaded {
  classifier: Classifier;
  manifest: ModelManifest;
}

/**
 * Loaded models for predict, at most `capacity` of them, least recently used evicted (and its
 * tensors freed). Concurrent first requests for a model share one load.
 */
export class ModelCache {
  private readonly entries = new Map<string, Promise<Loaded>>();

  constructor(
    private readonly store: ModelStore,
    private readonly capacity: number,
  ) {}

  /** The loaded model, or null when there is no such model. */
  async get(id: string): Promise<Loaded | null> {
    const cached = this.entries.get(id);
    if (cached) {
      this.entries.delete(id);
      this.entries.set(id, cached);
      return cached;
    }
    if (!(await this.store.manifest(id))) return null;
    const loading = this.store.load(id);
    this.entries.set(id, loading);
    loading.catch(() => this.entries.delete(id));
    this.evictBeyondCapacity();
    return loading;
  }

  /** Forgets a model (deleted, or replaced by a retried job) and frees its tensors. */
  evict(id: string): void {
    const entry = this.entries.get(id);
    this.entries.delete(id);
    void entry?.then((m) => m.classifier.dispose()).catch(() => {});
  }

  clear(): void {
    for (const id of [...this.entries.keys()]) this.evict(id);
  }

  private evictBeyondCapacity(): void {
    while (this.entries.size > this.capacity) this.evict(this.entries.keys().next().value!);
  }
}
