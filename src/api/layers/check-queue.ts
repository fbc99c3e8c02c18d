import { HttpProblem } from '../problem.js';

/**
 * Layer checks of one API process, one at a time: each runs in a thread of its own (a core and up
 * to a wasm heap), so a burst of checks queues here instead of starting threads without end. A
 * check that finds `limit` already waiting is refused with 429 at once.
 */
export class CheckQueue {
  private previous: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  constructor(private readonly limit: number) {}

  run<T>(work: () => Promise<T>): Promise<T> {
    if (this.waiting >= this.limit + 1) {
      throw new HttpProblem(429, 'layer-checks-busy', 'Too Many Requests', `one layer check is running and ${this.limit} are waiting; retry in a few seconds (LAYER_CHECK_QUEUE)`, {}, { 'retry-after': '5' });
    }
    this.waiting++;
    const run = this.previous.then(work, work).finally(() => this.waiting--);
    this.previous = run.catch(() => {});
    return run;
  }
}
