import { describe, expect, it } from 'vitest';
import { ModelCache } from '../../src/api/models/predictor.js';
import type { Classifier } from '../../src/nn/classifier.js';
import { ModelUnreadable, type LoadedModel, type ModelManifest } from '../../src/store/models.js';

/**
 * A model store in memory: each model has a version (its manifest's etag in a real store) and
 * loads into a classifier that counts its disposals. Unit tests of the cache's policy; the real
 * store behind it is in test/api/models.test.ts.
 */
class FakeModels {
  readonly versions = new Map<string, string>();
  readonly broken = new Set<string>();
  loads = 0;
  readonly disposed: string[] = [];
  private pending: (() => void) | null = null;
  /** While true, loads wait until release(). */
  hold = false;

  put(id: string, version = 'v1'): void {
    this.versions.set(id, version);
  }

  async version(id: string): Promise<string | null> {
    return this.versions.get(id) ?? null;
  }

  async load(id: string): Promise<LoadedModel | null> {
    this.loads++;
    const version = this.versions.get(id);
    if (this.hold) await new Promise<void>((resolve) => (this.pending = resolve));
    if (this.broken.has(id)) throw new ModelUnreadable(id, 'its weights.bin is missing');
    if (!version) return null;
    const classifier = { dispose: () => void this.disposed.push(`${id}@${version}`) } as unknown as Classifier;
    return { classifier, manifest: { id } as ModelManifest, version };
  }

  release(): void {
    this.pending?.();
  }
}

/** A cache with room for four, holding models a and b. */
async function twoLoaded(): Promise<{ models: FakeModels; cache: ModelCache }> {
  const models = new FakeModels();
  models.put('a');
  models.put('b');
  const cache = new ModelCache(models, 4);
  await cache.get('a');
  await cache.get('b');
  return { models, cache };
}

const idOf = (loaded: LoadedModel | null) => loaded?.manifest.id ?? null;
/** Disposal runs on the evicted load's promise: let it settle. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('ModelCache', () => {
  it('loads a model once and serves it from memory while its version holds; concurrent first requests share one load', async () => {
    const models = new FakeModels();
    models.put('a');
    const cache = new ModelCache(models, 2);
    models.hold = true;
    const both = Promise.all([cache.get('a'), cache.get('a')]);
    await settled();
    models.release();
    const [first, second] = await both;
    expect(first).toBe(second);
    expect(await cache.get('a')).toBe(first);
    expect(models.loads).toBe(1);
  });

  it('answers null for a model that does not exist, without caching it', async () => {
    const models = new FakeModels();
    const cache = new ModelCache(models, 2);
    expect(await cache.get('none')).toBeNull();
    models.put('none');
    expect(idOf(await cache.get('none'))).toBe('none');
  });

  it('evicts the least recently used model beyond its capacity and frees its tensors', async () => {
    const models = new FakeModels();
    for (const id of ['a', 'b', 'c']) models.put(id);
    const cache = new ModelCache(models, 2);
    await cache.get('a');
    await cache.get('b');
    await cache.get('a'); // a is now the most recently used
    await cache.get('c');
    await settled();
    expect(models.disposed).toEqual(['b@v1']);
    expect(models.loads).toBe(3);
    await cache.get('a');
    expect(models.loads).toBe(3);
    await cache.get('b');
    expect(models.loads).toBe(4);
  });

  it('never serves a model deleted by anyone: evicted by the route, or gone from the store', async () => {
    const { models, cache } = await twoLoaded();
    cache.evict('a');
    models.versions.delete('a');
    models.versions.delete('b'); // deleted by another process: only the store knows
    expect(await cache.get('a')).toBeNull();
    expect(await cache.get('b')).toBeNull();
    await settled();
    expect(models.disposed.sort()).toEqual(['a@v1', 'b@v1']);
  });

  it('loads a republished model again (a retried job replaced it) and frees the old one', async () => {
    const models = new FakeModels();
    models.put('a', 'v1');
    const cache = new ModelCache(models, 2);
    expect((await cache.get('a'))!.version).toBe('v1');
    models.put('a', 'v2');
    expect((await cache.get('a'))!.version).toBe('v2');
    await settled();
    expect(models.disposed).toEqual(['a@v1']);
    expect(models.loads).toBe(2);
  });

  it('passes on an unreadable model (stale or corrupt files) and tries again next time rather than caching the failure', async () => {
    const models = new FakeModels();
    models.put('a');
    models.broken.add('a');
    const cache = new ModelCache(models, 2);
    await expect(cache.get('a')).rejects.toBeInstanceOf(ModelUnreadable);
    models.broken.delete('a');
    expect(idOf(await cache.get('a'))).toBe('a');
    expect(models.loads).toBe(2);
  });

  it('clear frees every loaded model', async () => {
    const { models, cache } = await twoLoaded();
    cache.clear();
    await settled();
    expect(models.disposed.sort()).toEqual(['a@v1', 'b@v1']);
  });
});
