import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection that waits out a Redis restart instead of failing commands: BullMQ needs
 * maxRetriesPerRequest null, and the catalogue and event calls ride out short outages the same way.
 */
export function connect(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...options,
  });
}

/** Whether a Redis answers PING at this URL within the timeout. */
export async function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Redis key names, all under one configurable prefix. */
export class Keys {
  constructor(readonly prefix: string) {}

  job(id: string): string {
    return `${this.prefix}:job:${id}`;
  }

  jobs(status?: string): string {
    return status ? `${this.prefix}:jobs:${status}` : `${this.prefix}:jobs`;
  }

  /** Where per-tenant keys start; the transition script appends `<tenant>:jobs[:<status>]`. */
  get tenantPrefix(): string {
    return `${this.prefix}:tenant:`;
  }

  tenantJobs(tenant: string, status?: string): string {
    return `${this.tenantPrefix}${tenant}:jobs${status ? `:${status}` : ''}`;
  }

  events(id: string): string {
    return `${this.prefix}:events:${id}`;
  }

  /** A job's stop request (cancel or pause): see StopRequests. */
  stop(id: string): string {
    return `${this.prefix}:stop:${id}`;
  }

  get stopChannel(): string {
    return `${this.prefix}:stop`;
  }

  dataset(id: string): string {
    return `${this.prefix}:dataset:${id}`;
  }

  datasets(): string {
    return `${this.prefix}:datasets`;
  }

  /** A tenant's datasets; the dataset scripts append `<tenant>:datasets` to tenantPrefix themselves. */
  tenantDatasets(tenant: string): string {
    return `${this.tenantPrefix}${tenant}:datasets`;
  }

  /** Bytes a tenant's datasets hold (uploads while they ingest, shards once ready), kept by the dataset scripts. */
  tenantDatasetBytes(tenant: string): string {
    return `${this.tenantPrefix}${tenant}:dataset-bytes`;
  }

  datasetEvents(id: string): string {
    return `${this.prefix}:dataset-events:${id}`;
  }

  /** A worker's pushed metrics (src/metrics/pushed-metrics.ts). */
  workerMetrics(workerId: string): string {
    return `${this.prefix}:metrics:worker:${workerId}`;
  }

  /** The workers whose metrics are live, scored by when their push expires. */
  get workerMetricsIndex(): string {
    return `${this.prefix}:metrics:workers`;
  }

  /** A live worker's announcement (src/queue/worker-presence.ts), expiring unless renewed. */
  worker(id: string): string {
    return `${this.prefix}:worker:${id}`;
  }

  /** The ids of announced workers (some may have expired). */
  get workers(): string {
    return `${this.prefix}:workers`;
  }

  idempotency(tenant: string, key: string): string {
    return `${this.prefix}:idempotency:${tenant}:${key}`;
  }
}
