import type { JobEvent, Progress, TerminalEvent } from './api-types.js';

/** A resume that passed over unreadable checkpoints, or a restart because none could be read. */
export type CheckpointFallback = Extract<JobEvent, { status: 'resumed' | 'restarted' }>;

/**
 * What the job view knows about one job's training, built from its events in order: the progress
 * records of the current attempt, where each epoch starts, the job's last status and how it ended.
 * A worker that dies or hands the job back starts it again: from iteration 1, where the next
 * `running` status starts a fresh history, as a new training run would in MATLAB; or from its latest
 * checkpoint, where the `resumed` status that follows keeps the history (marked where it resumed).
 * A paused job resumed later goes the same way: its `paused` status, then `queued`, `running`, `resumed`.
 * A job whose every checkpoint was unreadable starts again too, its `running` status followed by `restarted`.
 */
export class TrainingHistory {
  readonly points: Progress[] = [];
  status: 'queued' | 'running' | 'paused' | TerminalEvent['type'] | null = null;
  terminal: TerminalEvent | null = null;
  /** Times the job was started again from iteration 1 after it had made progress. */
  restarts = 0;
  /** The iterations the job resumed from checkpoints after, in order (marks on the charts). */
  readonly resumedAt: number[] = [];
  /** The `resumed` events that skipped unreadable checkpoints, and the `restarted` ones (none read), in order: the page says each. */
  readonly checkpointFallbacks: CheckpointFallback[] = [];
  /** The history a `running` status set aside, in case a `resumed` one follows. */
  private setAside: Progress[] = [];

  apply(event: JobEvent): void {
    switch (event.type) {
      case 'status':
        if (event.status === 'resumed') {
          if (this.restarts > 0 && this.setAside.length > 0) this.restarts--;
          // The resumed attempt reports nothing again that was reported before, so the history goes on as it was.
          const reported = this.setAside.at(-1)?.iteration ?? 0;
          this.points.splice(0, this.points.length, ...this.setAside, ...this.points.filter((p) => p.iteration > reported));
          this.setAside = [];
          this.resumedAt.push(event.iteration);
          if (event.skippedCheckpoints) this.checkpointFallbacks.push(event);
          this.status = 'running';
          return;
        }
        if (event.status === 'restarted') {
          this.checkpointFallbacks.push(event);
          this.status = 'running';
          return;
        }
        if (event.status === 'running' && this.points.length > 0) {
          this.setAside = this.points.splice(0);
          this.restarts++;
        }
        this.status = event.status;
        return;
      case 'progress': {
        const { id: _id, type: _type, ...record } = event;
        this.points.push(record);
        return;
      }
      default:
        this.status = event.type;
        this.terminal = event;
    }
  }

  get last(): Progress | undefined {
    return this.points.at(-1);
  }

  /**
   * Where each epoch after the first begins, on the iteration axis: between the last record of one
   * epoch and the first of the next (records are thinned out, so the exact iteration may not be among them).
   */
  epochBoundaries(): { epoch: number; at: number }[] {
    const boundaries: { epoch: number; at: number }[] = [];
    for (let i = 1; i < this.points.length; i++) {
      const [before, after] = [this.points[i - 1]!, this.points[i]!];
      if (after.epoch !== before.epoch) boundaries.push({ epoch: after.epoch, at: (before.iteration + after.iteration) / 2 });
    }
    return boundaries;
  }

  /**
   * Seconds until the last planned iteration at the rate so far; null once the job has ended or
   * before the rate is known. Validation passes make a run with validation a little slower.
   */
  secondsLeft(): number | null {
    const last = this.last;
    const rate = this.iterationsPerSecond();
    if (!last || rate === null || this.terminal || this.status === 'paused') return null;
    return (last.totalIterations - last.iteration) / rate;
  }

  /** Iterations per second over the whole attempt so far. */
  iterationsPerSecond(): number | null {
    const last = this.last;
    return last && last.timeElapsed > 0 ? last.iteration / last.timeElapsed : null;
  }
}
