import type { Redis } from 'ioredis';
import type { DatasetManifest } from '../data/ingest/shards.js';
import type { Keys } from './redis.js';
import { statusGuard } from './status-guard.js';

/**
 * Uploaded datasets' records: one Redis hash per dataset (its owner, name, status, progress, and
 * once ready a summary of its manifest), a sorted set of all and one per tenant for listing and the
 * count quota, and a per-tenant byte counter for the storage quota. The stored shards live in the
 * DatasetStore; this is the truth about where a dataset stands.
 *
 * As for jobs (src/queue/catalogue.ts), every change is one script that checks the status it comes
 * from, and a worker's writes are fenced by its attempt: taking a dataset for ingestion increments
 * `attempts`, and progress, ready and failed are refused unless that attempt is still the latest,
 * so an ingestion whose queue lock lapsed can never finish or fail a dataset another attempt owns.
 * The tenant's byte counter moves in the same step as the record's `bytes` field, so it never drifts.
 */
export const datasetStatuses = ['ingesting', 'ready', 'failed'] as const;
export type DatasetStatus = (typeof datasetStatuses)[number];

/** How the uploader asked for the dataset to be converted (all optional; ingestion's defaults otherwise). */
export interface DatasetIngestOptions {
  imageSize?: [number, number];
  channels?: 1 | 3;
  sizeMode?: 'resize' | 'centercrop';
  testFraction?: number;
  seed?: number;
}

/** What a ready dataset holds: its manifest without shard lists and statistics. */
export type DatasetSummary = Pick<DatasetManifest, 'layout' | 'classes' | 'size' | 'sizeMode' | 'sizeFrom' | 'testSplit' | 'bytes' | 'skipped' | 'emptyClasses'> & {
  splits: Record<string, { count: number; perClass: number[] }>;
};

export interface DatasetProgress {
  read: number;
  total: number;
}

export interface DatasetRecord {
  id: string;
  tenant: string;
  name: string;
  status: DatasetStatus;
  createdAt: string;
  finishedAt: string | null;
  /** Bytes counted against the tenant's quota: the upload's while it ingests, the stored shards' once ready, 0 once failed. */
  bytes: number;
  /** Size of the uploaded archive. */
  uploadBytes: number;
  options: DatasetIngestOptions;
  progress: DatasetProgress | null;
  /** Why it failed, in a sentence the uploader can act on. */
  error: string | null;
  summary: DatasetSummary | null;
  attempts: number;
}

/** Events of a dataset, as stored in its stream and sent over the WebSocket (with the stream id). */
export type DatasetEvent =
  | { type: 'status'; status: 'ingesting' }
  | ({ type: 'progress' } & DatasetProgress)
  | { type: 'ready'; bytes: number }
  | { type: 'failed'; error: string };

export function isTerminalDatasetEvent(event: DatasetEvent): boolean {
  return event.type === 'ready' || event.type === 'failed';
}

/**
 * KEYS: dataset hash, all datasets, tenant's datasets, tenant's bytes, event stream.
 * ARGV: id, most datasets, most bytes, bytes of this one, the first event, field/value pairs.
 */
const createScript = `
local count = redis.call('ZCARD', KEYS[3])
if count >= tonumber(ARGV[2]) then return {'count', count} end
local held = tonumber(redis.call('GET', KEYS[4]) or '0')
if held + tonumber(ARGV[4]) > tonumber(ARGV[3]) then return {'bytes', held} end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('INCRBY', KEYS[4], ARGV[4])
redis.call('XADD', KEYS[5], '*', 'e', ARGV[5])
return {'ok', count}
`;

/**
 * KEYS: dataset hash, tenant key prefix, event stream.
 * ARGV: new status, allowed current statuses, fence ('' none, 'take' a new attempt, or the attempt
 * that must hold), an event ('' none), the new `bytes` ('' unchanged), field/value pairs.
 */
const transitionScript = `${statusGuard({ fence: 'ARGV[3]', allowed: 'ARGV[2]' })}
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'attempts', attempt)
if ARGV[5] ~= '' then
  local before = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
  local tenant = redis.call('HGET', KEYS[1], 'tenant')
  redis.call('INCRBY', KEYS[2] .. tenant .. ':dataset-bytes', tonumber(ARGV[5]) - before)
  redis.call('HSET', KEYS[1], 'bytes', ARGV[5])
end
if #ARGV > 5 then redis.call('HSET', KEYS[1], unpack(ARGV, 6)) end
if ARGV[4] ~= '' then redis.call('XADD', KEYS[3], '*', 'e', ARGV[4]) end
return {'ok', current, attempt}
`;

/**
 * Deletes a record, its events and its share of the tenant's bytes, if its status is allowed.
 * KEYS: dataset hash, all datasets, tenant key prefix, event stream. ARGV: id, allowed statuses.
 */
const removeScript = `${statusGuard({ fence: "''", allowed: 'ARGV[2]' })}
local tenant = redis.call('HGET', KEYS[1], 'tenant')
local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
redis.call('DECRBY', KEYS[3] .. tenant .. ':dataset-bytes', bytes)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3] .. tenant .. ':datasets', ARGV[1])
redis.call('DEL', KEYS[1], KEYS[4])
return {'ok', current}
`;

const holdsScript = `
local status, attempts = unpack(redis.call('HMGET', KEYS[1], 'status', 'attempts'))
return (status == 'ingesting' and tonumber(attempts) == tonumber(ARGV[1])) and 1 or 0
`;

export type CreateDatasetResult = { ok: true; record: DatasetRecord } | { ok: false; limit: 'count' | 'bytes'; held: number };
export type DatasetTransition = { ok: true; attempt: number } | { ok: false; current: DatasetStatus | null; fenced?: true };

export class DatasetRecords {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Records a new dataset as ingesting, unless its tenant already holds `quota.count` datasets or the upload would take it past `quota.bytes`. */
  async create(record: Pick<DatasetRecord, 'id' | 'tenant' | 'name' | 'createdAt' | 'uploadBytes' | 'options'>, quota: { count: number; bytes: number }): Promise<CreateDatasetResult> {
    const full: DatasetRecord = { ...record, status: 'ingesting', finishedAt: null, bytes: record.uploadBytes, progress: null, error: null, summary: null, attempts: 0 };
    const event: DatasetEvent = { type: 'status', status: 'ingesting' };
    const [outcome, held] = (await this.redis.eval(
      createScript,
      5,
      this.keys.dataset(record.id),
      this.keys.datasets(),
      this.keys.tenantDatasets(record.tenant),
      this.keys.tenantDatasetBytes(record.tenant),
      this.keys.datasetEvents(record.id),
      record.id,
      String(quota.count),
      String(quota.bytes),
      String(record.uploadBytes),
      JSON.stringify(event),
      ...Object.entries(encode(full)).flat(),
    )) as [string, number];
    if (outcome === 'ok') return { ok: true, record: full };
    return { ok: false, limit: outcome === 'count' ? 'count' : 'bytes', held };
  }

  async get(id: string): Promise<DatasetRecord | null> {
    const hash = await this.redis.hgetall(this.keys.dataset(id));
    return hash['status'] ? decode(hash) : null;
  }

  /** Starts a new ingestion attempt of a dataset still ingesting; its number fences everything it writes. */
  take(id: string): Promise<DatasetTransition> {
    return this.transition(id, ['ingesting'], 'ingesting', { fence: 'take' });
  }

  /** Whether `attempt` is still the dataset's latest and it still ingests: asked before its shards are put in place. */
  async holds(id: string, attempt: number): Promise<boolean> {
    return (await this.redis.eval(holdsScript, 1, this.keys.dataset(id), String(attempt))) === 1;
  }

  async progress(id: string, attempt: number, progress: DatasetProgress): Promise<boolean> {
    return (await this.transition(id, ['ingesting'], 'ingesting', { fence: attempt, fields: { progress }, event: { type: 'progress', ...progress } })).ok;
  }

  async ready(id: string, attempt: number, summary: DatasetSummary): Promise<boolean> {
    const fields = { summary, finishedAt: new Date().toISOString() };
    return (await this.transition(id, ['ingesting'], 'ready', { fence: attempt, fields, bytes: summary.bytes, event: { type: 'ready', bytes: summary.bytes } })).ok;
  }

  /** Fails a dataset still ingesting: fenced by `attempt`, or unfenced (null) when no attempt owns it any more. */
  async fail(id: string, attempt: number | null, error: string): Promise<boolean> {
    const fields = { error, finishedAt: new Date().toISOString() };
    return (await this.transition(id, ['ingesting'], 'failed', { ...(attempt === null ? {} : { fence: attempt }), fields, bytes: 0, event: { type: 'failed', error } })).ok;
  }

  /** Deletes the record of a dataset whose status is one of `from`, with its events; refused (with its status) otherwise. */
  async remove(id: string, from: readonly DatasetStatus[]): Promise<{ ok: true } | { ok: false; current: DatasetStatus | null }> {
    const [outcome, current] = (await this.redis.eval(removeScript, 4, this.keys.dataset(id), this.keys.datasets(), this.keys.tenantPrefix, this.keys.datasetEvents(id), id, from.join(','))) as [string, string | undefined];
    return outcome === 'ok' ? { ok: true } : { ok: false, current: (current as DatasetStatus | undefined) ?? null };
  }

  /** Datasets newest first (ids sort by creation time), after the `cursor` id when given; one tenant's, or all. */
  async list(options: { tenant?: string; limit: number; cursor?: string }): Promise<{ datasets: DatasetRecord[]; nextCursor: string | null }> {
    const max = options.cursor ? `(${options.cursor}` : '+';
    const set = options.tenant ? this.keys.tenantDatasets(options.tenant) : this.keys.datasets();
    const ids = await this.redis.zrevrangebylex(set, max, '-', 'LIMIT', 0, options.limit + 1);
    const page = ids.slice(0, options.limit);
    const pipeline = this.redis.pipeline();
    for (const id of page) pipeline.hgetall(this.keys.dataset(id));
    const hashes = ((await pipeline.exec()) ?? []).map(([, hash]) => hash as Record<string, string>);
    return { datasets: hashes.filter((h) => h['status']).map(decode), nextCursor: ids.length > options.limit ? page.at(-1)! : null };
  }

  /** The ids of every dataset still ingesting, oldest first (for the orphan sweep). */
  async ingestingIds(): Promise<string[]> {
    const ids = await this.redis.zrange(this.keys.datasets(), 0, -1);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.keys.dataset(id), 'status');
    const statuses = ((await pipeline.exec()) ?? []).map(([, status]) => status);
    return ids.filter((_, i) => statuses[i] === 'ingesting');
  }

  /** The datasets a tenant holds and the bytes they take, as the quotas count them. */
  async usage(tenant: string): Promise<{ count: number; bytes: number }> {
    const [count, bytes] = await Promise.all([this.redis.zcard(this.keys.tenantDatasets(tenant)), this.redis.get(this.keys.tenantDatasetBytes(tenant))]);
    return { count, bytes: Number(bytes ?? 0) };
  }

  private async transition(
    id: string,
    from: readonly DatasetStatus[],
    to: DatasetStatus,
    o: { fence?: 'take' | number; fields?: Partial<DatasetRecord>; bytes?: number; event?: DatasetEvent },
  ): Promise<DatasetTransition> {
    const [outcome, current, attempt] = (await this.redis.eval(
      transitionScript,
      3,
      this.keys.dataset(id),
      this.keys.tenantPrefix,
      this.keys.datasetEvents(id),
      to,
      from.join(','),
      o.fence === undefined ? '' : String(o.fence),
      o.event ? JSON.stringify(o.event) : '',
      o.bytes === undefined ? '' : String(o.bytes),
      ...Object.entries(encode(o.fields ?? {})).flat(),
    )) as [string, string | undefined, number | undefined];
    if (outcome === 'ok') return { ok: true, attempt: attempt! };
    return { ok: false, current: (current as DatasetStatus | undefined) ?? null, ...(outcome === 'fenced' ? { fenced: true as const } : {}) };
  }
}

/** Fields the scripts read, stored raw; every other field is stored as JSON. */
const rawFields = new Set(['status', 'tenant', 'bytes', 'attempts']);

function encode(fields: Partial<DatasetRecord>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) out[key] = rawFields.has(key) ? String(value) : JSON.stringify(value);
  }
  return out;
}

function decode(hash: Record<string, string>): DatasetRecord {
  const field = <T>(key: keyof DatasetRecord, fallback: T): T => (hash[key] === undefined ? fallback : (JSON.parse(hash[key]) as T));
  return {
    id: field('id', ''),
    tenant: hash['tenant'] ?? '',
    name: field('name', ''),
    status: hash['status'] as DatasetStatus,
    createdAt: field('createdAt', ''),
    finishedAt: field('finishedAt', null),
    bytes: Number(hash['bytes'] ?? 0),
    uploadBytes: field('uploadBytes', 0),
    options: field('options', {}),
    progress: field('progress', null),
    error: field('error', null),
    summary: field('summary', null),
    attempts: Number(hash['attempts'] ?? 0),
  };
}

/** What a ready dataset's record keeps of its manifest. */
export function summarize(manifest: DatasetManifest): DatasetSummary {
  const splits = Object.fromEntries(Object.entries(manifest.splits).map(([name, split]) => [name, { count: split.count, perClass: split.perClass }]));
  const { layout, classes, size, sizeMode, sizeFrom, testSplit, bytes, skipped, emptyClasses } = manifest;
  return { layout, classes, size, sizeMode, sizeFrom, testSplit, bytes, skipped, emptyClasses, splits };
}
