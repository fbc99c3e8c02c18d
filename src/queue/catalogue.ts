import type { Redis } from 'ioredis';
import type { ProgressRecord } from '../nn/train.js';
import { jobStatuses, type JobError, type JobMetrics, type JobRecord, type JobRequest, type JobStatus } from './jobs.js';
import type { Keys } from './redis.js';

/**
 * The job catalogue: one Redis hash per job (the truth about its status, times and results) and
 * sorted sets per status, overall and per tenant, for listing and quotas. BullMQ only carries jobs
 * to workers; status lives here, so a cancelled or finished job stays visible however BullMQ cleans
 * up. Every status change is one atomic script that checks the status it comes from (a worker can
 * never revive a cancelled job) and, when a job starts, the tenant's running-jobs limit.
 *
 * KEYS: job hash, overall list prefix, tenant list prefix.
 * ARGV: new status, allowed current statuses, job id, running limit (0: none), field/value pairs.
 */
const transitionScript = `
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {'missing'} end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == current then allowed = true end end
if not allowed then return {'refused', current} end
local tenant = redis.call('HGET', KEYS[1], 'tenant')
local tenantList = KEYS[3] .. tenant .. ':jobs'
local limit = tonumber(ARGV[4])
if ARGV[1] == 'running' and current ~= 'running' and limit > 0 and redis.call('ZCARD', tenantList .. ':running') >= limit then
  return {'limited', current}
end
if #ARGV > 4 then redis.call('HSET', KEYS[1], 'status', ARGV[1], unpack(ARGV, 5)) else redis.call('HSET', KEYS[1], 'status', ARGV[1]) end
if current ~= ARGV[1] then
  redis.call('ZREM', KEYS[2] .. ':' .. current, ARGV[3])
  redis.call('ZADD', KEYS[2] .. ':' .. ARGV[1], 0, ARGV[3])
  redis.call('ZREM', tenantList .. ':' .. current, ARGV[3])
  redis.call('ZADD', tenantList .. ':' .. ARGV[1], 0, ARGV[3])
end
return {'ok', current}
`;

export type TransitionResult =
  | { ok: true; from: JobStatus }
  | { ok: false; current: JobStatus | null; limited?: true };

/** Fields set alongside a status change or on their own. */
export type JobFields = Partial<{
  startedAt: string;
  finishedAt: string;
  backend: string;
  workerId: string | null;
  modelId: string;
  metrics: JobMetrics;
  error: JobError;
  attempts: number;
  cancelRequested: boolean;
  progress: ProgressRecord | null;
}>;

export class JobCatalogue {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async create(id: string, request: JobRequest, createdAt: Date, tenant: string): Promise<JobRecord> {
    const record: JobRecord = {
      id,
      tenant,
      name: request.name ?? null,
      status: 'queued',
      createdAt: createdAt.toISOString(),
      startedAt: null,
      finishedAt: null,
      progress: null,
      backend: null,
      workerId: null,
      modelId: null,
      metrics: null,
      error: null,
      attempts: 0,
      cancelRequested: false,
    };
    await this.redis
      .multi()
      .hset(this.keys.job(id), { ...encode(record), request: JSON.stringify(request) })
      .zadd(this.keys.jobs(), 0, id)
      .zadd(this.keys.jobs('queued'), 0, id)
      .zadd(this.keys.tenantJobs(tenant), 0, id)
      .zadd(this.keys.tenantJobs(tenant, 'queued'), 0, id)
      .exec();
    return record;
  }

  async get(id: string): Promise<JobRecord | null> {
    const hash = await this.redis.hgetall(this.keys.job(id));
    return hash['status'] ? decode(hash) : null;
  }

  async request(id: string): Promise<JobRequest | null> {
    const text = await this.redis.hget(this.keys.job(id), 'request');
    return text ? (JSON.parse(text) as JobRequest) : null;
  }

  /**
   * Moves a job to `to` if its status is one of `from`, setting the given fields in the same step.
   * With `runningLimit`, a move to running is refused (limited) while the job's tenant already has
   * that many running.
   */
  async transition(id: string, from: readonly JobStatus[], to: JobStatus, fields: JobFields = {}, runningLimit = 0): Promise<TransitionResult> {
    const args = Object.entries(encode(fields)).flat();
    const [outcome, current] = (await this.redis.eval(
      transitionScript,
      3,
      this.keys.job(id),
      this.keys.jobs(),
      this.keys.tenantPrefix,
      to,
      from.join(','),
      id,
      String(runningLimit),
      ...args,
    )) as [string, string | undefined];
    if (outcome === 'ok') return { ok: true, from: current as JobStatus };
    return { ok: false, current: (current as JobStatus | undefined) ?? null, ...(outcome === 'limited' ? { limited: true as const } : {}) };
  }

  /** Sets fields without a status change (progress, the cancel request). */
  async update(id: string, fields: JobFields): Promise<void> {
    await this.redis.hset(this.keys.job(id), encode(fields));
  }

  /** Jobs newest first (ids sort by creation time), after the `cursor` id when given; one tenant's, or all. */
  async list(options: { tenant?: string; status?: JobStatus; limit: number; cursor?: string }): Promise<{ jobs: JobRecord[]; nextCursor: string | null }> {
    const max = options.cursor ? `(${options.cursor}` : '+';
    const set = options.tenant ? this.keys.tenantJobs(options.tenant, options.status) : this.keys.jobs(options.status);
    const ids = await this.redis.zrevrangebylex(set, max, '-', 'LIMIT', 0, options.limit + 1);
    const page = ids.slice(0, options.limit);
    const pipeline = this.redis.pipeline();
    for (const id of page) pipeline.hgetall(this.keys.job(id));
    const hashes = ((await pipeline.exec()) ?? []).map(([, hash]) => hash as Record<string, string>);
    const jobs = hashes.filter((h) => h['status']).map(decode);
    return { jobs, nextCursor: ids.length > options.limit ? page.at(-1)! : null };
  }

  /** Jobs in each status, overall or of one tenant. */
  async counts(tenant?: string): Promise<Record<JobStatus, number>> {
    const pipeline = this.redis.pipeline();
    for (const status of jobStatuses) pipeline.zcard(tenant ? this.keys.tenantJobs(tenant, status) : this.keys.jobs(status));
    const results = (await pipeline.exec()) ?? [];
    return Object.fromEntries(jobStatuses.map((s, i) => [s, Number(results[i]?.[1] ?? 0)])) as Record<JobStatus, number>;
  }
}

/** Fields the transition script reads, stored raw; every other field is stored as JSON. */
const rawFields = new Set(['status', 'tenant']);

function encode(fields: JobFields | JobRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) out[key] = rawFields.has(key) ? String(value) : JSON.stringify(value);
  }
  return out;
}

function decode(hash: Record<string, string>): JobRecord {
  const field = <T>(key: keyof JobRecord, fallback: T): T => (hash[key] === undefined ? fallback : (JSON.parse(hash[key]) as T));
  return {
    id: field('id', ''),
    tenant: hash['tenant'] ?? '',
    name: field('name', null),
    status: hash['status'] as JobStatus,
    createdAt: field('createdAt', ''),
    startedAt: field('startedAt', null),
    finishedAt: field('finishedAt', null),
    progress: field('progress', null),
    backend: field('backend', null),
    workerId: field('workerId', null),
    modelId: field('modelId', null),
    metrics: field('metrics', null),
    error: field('error', null),
    attempts: field('attempts', 0),
    cancelRequested: field('cancelRequested', false),
  };
}
