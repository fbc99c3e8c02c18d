import { Counter, Gauge, Registry } from 'prom-client';
import type { JobObserver } from '../lifecycle/job-lifecycle.js';
import { StoreCounters } from './store-metrics.js';

/**
 * A worker process's own metrics, every series labelled with its worker id: jobs it started and
 * how they ended, training iterations, and its store operations. They reach Prometheus through
 * the API (see pushed-metrics.ts); Node's process metrics are the API's alone, to keep each push small.
 */
export class WorkerMetrics implements JobObserver {
  readonly registry = new Registry();
  readonly store: StoreCounters;
  private readonly started: Counter;
  private readonly finished: Counter<'outcome'>;
  private readonly iterations: Counter;
  private readonly iterationRate: Gauge;
  /** The last iteration each running job reported, so each progress event adds only what is new. */
  private readonly lastIteration = new Map<string, number>();
  private rateFrom: { at: number; iterations: number } | null = null;

  constructor(workerId: string) {
    this.registry.setDefaultLabels({ worker: workerId });
    const registers = [this.registry];
    this.started = new Counter({ name: 'trainyard_jobs_started_total', help: 'Training jobs started (an attempt each).', registers });
    this.finished = new Counter({ name: 'trainyard_jobs_finished_total', help: 'Training jobs ended, by outcome: completed, failed or cancelled.', labelNames: ['outcome'], registers });
    this.iterations = new Counter({ name: 'trainyard_training_iterations_total', help: 'Training iterations (mini-batches) done.', registers });
    this.iterationRate = new Gauge({ name: 'trainyard_training_iterations_per_second', help: 'Training iterations a second on this worker, over the last push interval.', registers });
    this.store = new StoreCounters(this.registry);
  }

  jobStarted(jobId: string): void {
    this.started.inc();
    this.lastIteration.set(jobId, 0);
  }

  jobProgressed(jobId: string, iteration: number): void {
    const before = this.lastIteration.get(jobId) ?? 0;
    if (iteration > before) this.iterations.inc(iteration - before);
    this.lastIteration.set(jobId, iteration);
  }

  jobEnded(jobId: string, outcome: 'completed' | 'failed' | 'cancelled'): void {
    this.finished.inc({ outcome });
    this.lastIteration.delete(jobId);
  }

  /** The iteration rate since the last call, set on its gauge (called once per push). */
  async updateRate(now = performance.now()): Promise<void> {
    const iterations = (await this.iterations.get()).values[0]?.value ?? 0;
    if (this.rateFrom) this.iterationRate.set(((iterations - this.rateFrom.iterations) * 1000) / Math.max(1, now - this.rateFrom.at));
    this.rateFrom = { at: now, iterations };
  }
}
