import type { BackendPreference } from '../backend.js';
import type { Network } from '../spec.js';
import { startModuleThread } from '../thread.js';
import { CustomLayerCheckError } from './check-error.js';
import { checkNames, report, skipped, tooExpensiveResult, type CheckReport, type CheckResult } from './check.js';
import type { CheckThreadInput, CheckThreadMessage } from './check-thread.js';
import type { CustomLayerSpec } from './validate.js';

/**
 * Runs a layer check in a worker thread of its own, so that the API's and a training worker's
 * event loops stay free while it runs (requests answered, BullMQ locks renewed). Each check gets a
 * fresh thread, with its own tfjs and wasm heap, and the thread ends with the check: a check that
 * exhausts its heap cannot leave a faulted heap behind for the next request.
 */
export interface LayerCheckLimits {
  /** Element-operations all the checks of one layer may spend (LAYER_CHECK_MAX_OPERATIONS). */
  maxOperations: number;
  /** Wall-clock time of one layer's check; the thread is terminated past it (LAYER_CHECK_TIMEOUT_MS). */
  timeoutMs: number;
  /** The thread's JavaScript heap (LAYER_CHECK_HEAP_MB): past it the thread dies, not the process. tfjs's wasm heap has its own 4 GiB ceiling. */
  heapMb: number;
}

export interface ThreadCheckOptions extends LayerCheckLimits {
  observations?: number;
  backend: BackendPreference;
}

/** The check's thread exhausted or corrupted its memory; the thread is gone, the sentence says what it reported. */
export class CheckOutOfMemoryError extends Error {
  constructor(layer: string, reason: string) {
    super(`the check of ${layer} ran out of memory (${reason}); check a smaller inputSize or fewer observations`);
    this.name = 'CheckOutOfMemoryError';
  }
}

export function checkInThread(spec: CustomLayerSpec, options: ThreadCheckOptions): Promise<CheckReport> {
  const observations = options.observations ?? 2;
  const input: CheckThreadInput = { spec, observations, maxOperations: options.maxOperations, backend: options.backend };
  const thread = startModuleThread(import.meta.url, 'check-thread', input, { maxOldGenerationSizeMb: options.heapMb });
  const results: CheckResult[] = [];
  const finish = (extra: CheckResult[]) => report(spec.name, spec.inputSize, observations, spec.definition.backward ? 'backward' : 'autodiff', [...results, ...extra]);

  return new Promise<CheckReport>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void thread.terminate();
      outcome();
    };
    const timer = setTimeout(() => {
      settle(() => {
        const missing = ['definition', ...checkNames].filter((name) => !results.some((r) => r.name === name));
        const seconds = `${(options.timeoutMs / 1000).toLocaleString('en-US')} s`;
        resolve(finish([...skipped(`the check ran out of time (${seconds})`, missing), tooExpensiveResult(`it ran past its time limit of ${seconds} (LAYER_CHECK_TIMEOUT_MS); check a smaller inputSize or fewer observations`)]));
      });
    }, options.timeoutMs);
    thread.on('message', (message: CheckThreadMessage) => {
      if (message.type === 'result') results.push(message.result);
      else if (message.type === 'done') settle(() => resolve(finish([])));
      else settle(() => reject(new CheckOutOfMemoryError(spec.name, message.message)));
    });
    thread.on('error', (err: Error & { code?: string }) => {
      settle(() => reject(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? new CheckOutOfMemoryError(spec.name, err.message) : err));
    });
    thread.on('exit', (code) => settle(() => reject(new Error(`the check of ${spec.name} stopped (its thread exited with code ${code}) before it finished`))));
  });
}

/** checkInThread for each custom layer of a network; throws CustomLayerCheckError with the reports of those that fail (a check cut for cost or memory fails). */
export async function ensureCustomLayersPass(network: Network, options: ThreadCheckOptions, signal?: AbortSignal): Promise<CheckReport[]> {
  const reports: CheckReport[] = [];
  for (const layer of network.layers) {
    if (layer.type !== 'custom') continue;
    // A cancelled or stopped job stops checking between layers; training then ends it as aborted at once.
    if (signal?.aborted) break;
    try {
      reports.push(await checkInThread(layer, options));
    } catch (err) {
      if (!(err instanceof CheckOutOfMemoryError)) throw err;
      const outOfMemory: CheckResult = { name: 'checkedFully', status: 'fail', message: err.message };
      reports.push(report(layer.name, layer.inputSize, options.observations ?? 2, layer.definition.backward ? 'backward' : 'autodiff', [outOfMemory]));
    }
  }
  const failed = reports.filter((r) => !r.summary.ok);
  if (failed.length > 0) throw new CustomLayerCheckError(failed);
  return reports;
}
