import { Counter, type Registry } from 'prom-client';
import type { BlobStore } from '../store/blob-store.js';

/** Blob store operations and the ones that failed, by operation, in one process. */
export class StoreCounters {
  readonly operations: Counter<'operation'>;
  readonly errors: Counter<'operation'>;

  constructor(registry: Registry) {
    this.operations = new Counter({ name: 'trainyard_store_operations_total', help: 'Blob store operations (models, datasets), by operation.', labelNames: ['operation'], registers: [registry] });
    this.errors = new Counter({ name: 'trainyard_store_errors_total', help: 'Blob store operations that failed, by operation.', labelNames: ['operation'], registers: [registry] });
  }
}

const operations = ['putSet', 'get', 'head', 'list', 'deleteSet', 'publishedAttempt'] as const satisfies readonly (keyof BlobStore)[];

/** The same store, each operation counted (and counted again as an error when it rejects). */
export function countedBlobStore(store: BlobStore, counters: StoreCounters): BlobStore {
  const counted = {} as Record<(typeof operations)[number], unknown>;
  for (const operation of operations) {
    const call = store[operation].bind(store) as (...args: unknown[]) => Promise<unknown>;
    counted[operation] = async (...args: unknown[]) => {
      counters.operations.inc({ operation });
      try {
        return await call(...args);
      } catch (err) {
        counters.errors.inc({ operation });
        throw err;
      }
    };
  }
  return counted as BlobStore;
}
