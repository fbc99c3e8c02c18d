import { AggregatorRegistry, collectDefaultMetrics, Gauge, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { StoreCounters } from './store-metrics.js';

/** What the API's gauges read when scraped. */
export interface ApiGaugeSources {
  queueDepth(): Promise<Record<string, number>>;
  workerCount(): Promise<number>;
  /** Event-stream watchers (WebSockets following a stream) in this process. */
  watchers(): number;
}

/**
 * The API process's metrics: Node's default process metrics, HTTP request durations by matched
 * route and status, predict latency and batch sizes, queue depth by state, live workers, event
 * watchers and store operations. render() adds the workers' pushed metrics (pushed-metrics.ts).
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly store: StoreCounters;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly predictDuration: Histogram;
  readonly predictBatch: Histogram;

  constructor(sources: ApiGaugeSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'trainyard_http_request_duration_seconds',
      help: 'HTTP request durations, by method, matched route (the pattern, never the raw URL) and status.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.predictDuration = new Histogram({ name: 'trainyard_predict_duration_seconds', help: 'Time to predict one request (decoding and inference).', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers });
    this.predictBatch = new Histogram({ name: 'trainyard_predict_batch_size', help: 'Images per predict request.', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers });
    new Gauge({
      name: 'trainyard_queue_jobs',
      help: 'Training jobs in the queue, by state.',
      labelNames: ['state'],
      registers,
      async collect() {
        for (const [state, count] of Object.entries(await sources.queueDepth())) this.set({ state }, count);
      },
    });
    new Gauge({
      name: 'trainyard_workers',
      help: 'Worker processes connected to the queue.',
      registers,
      async collect() {
        this.set(await sources.workerCount());
      },
    });
    new Gauge({
      name: 'trainyard_event_watchers',
      help: 'Event-stream watchers (WebSockets following a stream) on this API process.',
      registers,
      collect() {
        this.set(sources.watchers());
      },
    });
    this.store = new StoreCounters(this.registry);
  }

  /** This process's metrics and the workers', in Prometheus's text format. */
  async render(workers: MetricObjectWithValues<MetricValue<string>>[][]): Promise<string> {
    const sources = [await this.registry.getMetricsAsJSON(), ...workers];
    // Every series is one source's (workers' carry their worker label, the API's none): 'first'
    // only lays them side by side under one HELP and TYPE, where the default aggregators would sum or drop some.
    return AggregatorRegistry.aggregate(sources.map((metrics) => metrics.map((metric) => ({ ...metric, aggregator: 'first' as const })))).metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
