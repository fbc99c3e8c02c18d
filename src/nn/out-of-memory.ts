import { UserProblem } from './problems.js';

/**
 * A tensor backend that ran out of memory. On tfjs-backend-wasm the heap is one WebAssembly memory
 * of at most 4 GiB: an allocation past it traps ("memory access out of bounds") or aborts inside
 * emscripten's malloc, possibly half way through a kernel, and leaves the allocator's state and
 * every live tensor untrustworthy. A process that saw one must not run another tensor (later jobs
 * trained "successfully" to accuracy 0.1 with null losses): the worker fails the job with this
 * error's sentence and exits with `heapFaultExitCode`, and its supervisor starts a fresh one.
 */
export class OutOfMemoryError extends UserProblem {
  constructor(readonly during: string, cause: unknown) {
    super(
      {
        title: 'Out of memory',
        detail:
          `training ran out of memory while ${during}: the wasm backend's heap (4 GiB at most) could not hold this network's tensors; ` +
          'use a smaller miniBatchSize or smaller layers (the estimate checked before queueing was too low for it)',
      },
      { cause },
    );
    this.name = 'OutOfMemoryError';
  }
}

/** Exit code of a worker process recycled after a memory fault (EX_TEMPFAIL): its supervisor starts another. */
export const heapFaultExitCode = 75;

const faultMessages = [/memory access out of bounds/i, /out of memory/i, /cannot enlarge memory/i, /Aborted\(OOM\)/i, /array buffer allocation failed/i, /WebAssembly\.Memory\(\): could not allocate/i];

/**
 * Whether an error is a backend's memory running out: a wasm trap (WebAssembly.RuntimeError: an
 * allocation past 4 GiB first traps with "table index is out of bounds" in malloc, then every
 * later kernel with "memory access out of bounds") or an allocation refused.
 */
export function isMemoryFault(err: unknown): boolean {
  if (err instanceof OutOfMemoryError) return true;
  if (err instanceof Error && err.name === 'RuntimeError') return true;
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  return faultMessages.some((pattern) => pattern.test(message));
}
