import type { ProgressRecord } from '../nn/train.js';

/**
 * Decides which progress records go out as events: at most one every `intervalMs` (training
 * records every iteration, far more often than anyone can watch), but always the verbose-table
 * rows, records that carry validation results, and the last one. Sends in order, without holding
 * up training.
 */
export class ProgressPublisher {
  private lastSent = -Infinity;
  private pending: ProgressRecord | null = null;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly send: (record: ProgressRecord) => Promise<void>,
    private readonly intervalMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  offer(record: ProgressRecord): void {
    const important = record.verbose || record.validationLoss !== undefined;
    const time = this.now();
    if (!important && time - this.lastSent < this.intervalMs) {
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

  private enqueue(record: ProgressRecord): void {
    this.chain = this.chain.then(() => this.send(record)).catch((err: unknown) => {
      this.failure ??= err;
    });
  }
}
