import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend, type BackendPreference } from '../backend.js';
import { checkCustomLayerSpec, type CheckResult } from './check.js';
import type { CustomLayerSpec } from './validate.js';

/**
 * The body of a layer-check thread (started by check-runner.ts): its own tfjs and wasm heap, one
 * check, then it ends. Each result goes back as soon as it is decided, so a check stopped for time
 * still answers with what finished. A wasm memory fault ends the thread at once: that heap is
 * never used again.
 */
export interface CheckThreadInput {
  spec: CustomLayerSpec;
  observations: number;
  maxOperations: number;
  backend: BackendPreference;
}

export type CheckThreadMessage = { type: 'result'; result: CheckResult } | { type: 'done' } | { type: 'fault'; message: string };

/** What the wasm backend (or V8) says when a heap is exhausted or corrupted. */
export const memoryFaultPattern = /memory access out of bounds|out of memory|Aborted\(|Array buffer allocation failed|Invalid typed array length/i;

const post = (message: CheckThreadMessage) => parentPort!.postMessage(message);
const input = workerData as CheckThreadInput;
/** The first memory fault a check reported; cleaning up after it may throw something else, which must not hide it. */
let fault: string | null = null;
// A check is background work: on a busy machine the process's event loop (requests, lock renewals)
// should get the core first. Linux keeps a nice value per thread, so this lowers this thread only.
setPriority(10);
try {
  await initBackend(input.backend);
  await checkCustomLayerSpec(input.spec, {
    observations: input.observations,
    maxOperations: input.maxOperations,
    onResult: (result) => {
      if (result.status === 'fail' && memoryFaultPattern.test(result.message)) {
        fault = result.message.replace(/^it threw: /, '');
        throw new Error(fault);
      }
      post({ type: 'result', result });
    },
  });
  post({ type: 'done' });
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  if (fault !== null || memoryFaultPattern.test(message)) post({ type: 'fault', message: fault ?? message });
  else throw err;
}
