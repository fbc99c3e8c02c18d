import type { ProgressRecord } from '../nn/train.js';

/** Training's records that always go out: the verbose-table rows and those carrying validation results. */
function isTrainingMilestone(record: ProgressRecord): boolean {
  return record.verbose || record.validationLoss !== undefined;
}

/**
 * Decides which progress records go out as events: at most one every `intervalMs` (training
 * records every iteration, ingestion every image, far more often than anyone can watch), but
 * always the `important` ones (for training, see isTrainingMilestone) and the last one. Sends in
 * order, without holding up the work.
 */
export class ProgressPublisher<R = ProgressRecord> {
  private lastSent = -Infinity;
  private pending: R | null = null;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly send: (record: R) => Promise<void>,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
    private readonly important: (record: R) => boolean = isTrainingMilestone as (record: unknown) => boolean,
  ) {}

  offer(record: R): void {
    const time = this.now();
    if (!this.important(record) && time - this.lastSent < this.intervalMs) {
      this.pending = record;
      return;
    }
    this.lastSent = time;
    this.pending = null;
    this.enqueue(record);
  }

  /** Sends the record held back last, waits for everything sent, and rethrows a send failure. */
  async flush(): Promise<void> {
    if (this.pending) this.enqueue(this.pending);
    this.pending = null;
    await this.chain;
    if (this.failure) throw this.failure;
  }

  private enqueue(record: R): void {
    this.chain = this.chain.then(() => this.send(record)).catch((err: unknown) => {
      this.failure ??= err;
    });
  }
}
