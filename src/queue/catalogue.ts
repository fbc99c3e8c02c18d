import type { Redis } from 'ioredis';
import type { ProgressRecord } from '../nn/train.js';
import { jobStatuses, type JobError, type JobEvent, type JobMetrics, type JobRecord, type JobRequest, type JobStatus } from './jobs.js';
import type { Keys } from './redis.js';
import type { InitialModelUse } from '../run/initial-model.js';
import { statusGuard } from './status-guard.js';

/**
 * The job catalogue: one Redis hash per job (the truth about its status, times and results) and
 * sorted sets per status, overall and per tenant, for listing and quotas. BullMQ only carries jobs
 * to workers; status lives here, so a cancelled or finished job stays visible however BullMQ cleans
 * up. Every status change is one atomic script that checks the status it comes from (a worker can
 * never revive a cancelled job) and, when a job starts, the tenant's running-jobs limit.
 *
 * Fencing: BullMQ delivers a job at least once, so an attempt whose lock lapsed (a blocked event
 * loop, a long GC pause) can still be running when a second attempt starts. Taking a job increments
 * its `attempts` in the same script, and that number is the attempt's fencing token: every write a
 * worker makes for the job (status changes, progress, backend, its events) names its token and is
 * refused ('fenced') unless the token is still the job's latest, so a stale attempt can never
 * complete, fail or requeue a job, nor add to its history.
 *
 * KEYS: job hash, overall list prefix, tenant list prefix, the job's event stream.
 * ARGV: new status, allowed current statuses, job id, running limit (0: none), fence ('' none,
 * 'take' starts a new attempt, or the attempt number that must still hold), an event to append in
 * the same step ('' none), field/value pairs.
 */
const transitionScript = `${statusGuard({ fence: 'ARGV[5]', allowed: 'ARGV[2]' })}
local tenant = redis.call('HGET', KEYS[1], 'tenant')
local tenantList = KEYS[3] .. tenant .. ':jobs'
local limit = tonumber(ARGV[4])
if ARGV[1] == 'running' and current ~= 'running' and limit > 0 and redis.call('ZCARD', tenantList .. ':running') >= limit then
  return {'limited', current}
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'attempts', attempt)
if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
if current ~= ARGV[1] then
  redis.call('ZREM', KEYS[2] .. ':' .. current, ARGV[3])
  redis.call('ZADD', KEYS[2] .. ':' .. ARGV[1], 0, ARGV[3])
  redis.call('ZREM', tenantList .. ':' .. current, ARGV[3])
  redis.call('ZADD', tenantList .. ':' .. ARGV[1], 0, ARGV[3])
end
if ARGV[6] ~= '' then redis.call('XADD', KEYS[4], '*', 'e', ARGV[6]) end
return {'ok', current, attempt}
`;

/**
 * Creates a job unless its tenant already has `max` waiting (queued or paused: a paused job keeps its
 * checkpoints and goes back to the queue on resume): the count and the creation are one step, so
 * concurrent submissions can never overshoot the quota.
 *
 * KEYS: job hash, overall list, overall queued list, tenant list, tenant queued list, event stream, tenant paused list.
 * ARGV: job id, the most queued jobs allowed, the queued event, field/value pairs.
 */
const createScript = `
local queued = redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[7])
if queued >= tonumber(ARGV[2]) then return {'limited', queued} end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
for i = 2, 5 do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
redis.call('XADD', KEYS[6], '*', 'e', ARGV[3])
return {'ok', queued}
`;

/** Whether an attempt still owns its job: the latest attempt, and the job still running. */
const holdsScript = `
local status, attempts = unpack(redis.call('HMGET', KEYS[1], 'status', 'attempts'))
return (status == 'running' and tonumber(attempts) == tonumber(ARGV[1])) and 1 or 0
`;

export type TransitionResult =
  | { ok: true; from: JobStatus; attempt: number }
  | { ok: false; current: JobStatus | null; limited?: true; fenced?: true };

export type CreateResult = { ok: true; record: JobRecord } | { ok: false; queued: number };

/** How a transition is fenced and what it appends; see the catalogue's doc. */
export interface TransitionOptions {
  /** With a move to running, refused (limited) while the job's tenant already has this many running. */
  runningLimit?: number;
  /** 'take' starts a new attempt (its number is returned); a number is the attempt that must still hold. */
  fence?: 'take' | number;
  /** An event appended to the job's stream in the same step, only if the transition happens. */
  event?: JobEvent;
}

/** Fields set alongside a status change or on their own. */
export type JobFields = Partial<{
  startedAt: string;
  finishedAt: string;
  backend: string;
  workerId: string | null;
  modelId: string;
  metrics: JobMetrics;
  error: JobError;
  cancelRequested: boolean;
  pauseRequested: boolean;
  progress: ProgressRecord | null;
}>;

export class JobCatalogue {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /**
   * Records a new queued job and its first event, unless the tenant already has `maxQueued` waiting.
   * `modelId` is the id its model will be saved under, kept beside the request (the record's public
   * `modelId` is set only once the model exists). `initialModel` is what the API found of the model it starts from.
   */
  async create(
    id: string,
    request: JobRequest,
    createdAt: Date,
    tenant: string,
    maxQueued: number,
    modelId: string,
    initialModel: InitialModelUse | null = null,
  ): Promise<CreateResult> {
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
      pauseRequested: false,
      initialModel,
    };
    const event: JobEvent = { type: 'status', status: 'queued' };
    const fields = Object.entries({ ...encode(record), request: JSON.stringify(request), plannedModelId: modelId }).flat();
    const [outcome, queued] = (await this.redis.eval(
      createScript,
      7,
      this.keys.job(id),
      this.keys.jobs(),
      this.keys.jobs('queued'),
      this.keys.tenantJobs(tenant),
      this.keys.tenantJobs(tenant, 'queued'),
      this.keys.events(id),
      this.keys.tenantJobs(tenant, 'paused'),
      id,
      String(maxQueued),
      JSON.stringify(event),
      ...fields,
    )) as [string, number];
    return outcome === 'ok' ? { ok: true, record } : { ok: false, queued };
  }

  /** Deletes a job that was recorded but never queued, with its history (the submit's undo). */
  async remove(id: string, tenant: string): Promise<void> {
    const pipeline = this.redis.multi().del(this.keys.job(id), this.keys.events(id)).zrem(this.keys.jobs(), id).zrem(this.keys.tenantJobs(tenant), id);
    for (const status of jobStatuses) pipeline.zrem(this.keys.jobs(status), id).zrem(this.keys.tenantJobs(tenant, status), id);
    await pipeline.exec();
  }

  async get(id: string): Promise<JobRecord | null> {
    const hash = await this.redis.hgetall(this.keys.job(id));
    return hash['status'] ? decode(hash) : null;
  }

  /** What a worker needs to run the job: its request and the id its model is saved under. */
  async work(id: string): Promise<{ request: JobRequest; modelId: string } | null> {
    const [text, modelId] = await this.redis.hmget(this.keys.job(id), 'request', 'plannedModelId');
    // A record written before jobs carried their model id saved its model under the job's id.
    return text ? { request: JSON.parse(text) as JobRequest, modelId: modelId ?? id } : null;
  }

  /** Moves a job to `to` if its status is one of `from`, setting the given fields in the same step; see TransitionOptions. */
  async transition(id: string, from: readonly JobStatus[], to: JobStatus, fields: JobFields = {}, options: TransitionOptions = {}): Promise<TransitionResult> {
    const args = Object.entries(encode(fields)).flat();
    const [outcome, current, attempt] = (await this.redis.eval(
      transitionScript,
      4,
      this.keys.job(id),
      this.keys.jobs(),
      this.keys.tenantPrefix,
      this.keys.events(id),
      to,
      from.join(','),
      id,
      String(options.runningLimit ?? 0),
      options.fence === undefined ? '' : String(options.fence),
      options.event ? JSON.stringify(options.event) : '',
      ...args,
    )) as [string, string | undefined, number | undefined];
    if (outcome === 'ok') return { ok: true, from: current as JobStatus, attempt: attempt! };
    return {
      ok: false,
      current: (current as JobStatus | undefined) ?? null,
      ...(outcome === 'limited' ? { limited: true as const } : {}),
      ...(outcome === 'fenced' ? { fenced: true as const } : {}),
    };
  }

  /**
   * Sets fields of a running job (progress, backend), and appends an event with them, only while
   * `attempt` still owns it; false when it does not (a stale attempt).
   */
  async record(id: string, attempt: number, fields: JobFields, event?: JobEvent): Promise<boolean> {
    return (await this.transition(id, ['running'], 'running', fields, { fence: attempt, ...(event ? { event } : {}) })).ok;
  }

  /** Whether `attempt` is still the job's latest and the job still runs: asked just before a model is put in place. */
  async holds(id: string, attempt: number): Promise<boolean> {
    return (await this.redis.eval(holdsScript, 1, this.keys.job(id), String(attempt))) === 1;
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

/** Fields the scripts read, stored raw; every other field is stored as JSON (a number's JSON is its raw form). */
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
    pauseRequested: field('pauseRequested', false),
    initialModel: field('initialModel', null),
  };
}
