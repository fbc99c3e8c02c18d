import { createHash } from 'node:crypto';
import path from 'node:path';
import { backendDoc, backendPreferences, type BackendPreference } from './nn/backend.js';
import type { OptionLimits } from './nn/options.js';
import type { NetworkLimits } from './nn/spec.js';
import { isKeySegment } from './store/blob-store.js';
import type { S3Settings } from './store/s3-blob-store.js';

/**
 * All configuration, built once from the environment at start and passed down; nothing else reads
 * process.env. Every variable is listed in `configVariables` (with its default and meaning), which
 * is also what the README's configuration table is checked against.
 */
export interface Config {
  backend: BackendPreference;
  /** Threads the wasm backend's XNNPACK and trainyard's kernels compute on (TRAINYARD_THREADS). */
  threads: number;
  dataDir: string;
  /** Where models and datasets are kept: DATA_DIR's folders (s3 null), or an S3-compatible bucket. */
  store: {
    s3: S3Settings | null;
    /** The local read cache in front of object storage (maxBytes 0: none). */
    cache: { dir: string; maxBytes: number };
    /** Verified dataset shards a process keeps in memory for its next jobs (src/data/ingest/verified-shards.ts; 0: none). */
    verifiedShardBytes: number;
  };
  networkLimits: NetworkLimits;
  optionLimits: OptionLimits;
  http: {
    host: string;
    port: number;
    bodyLimit: number;
    /** Whole request (headers and body) must arrive within this; a slow body is cut with 408. */
    requestTimeoutMs: number;
    headersTimeoutMs: number;
    /** A connection idle this long is closed. */
    connectionTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxConnections: number;
    maxRequestsPerSocket: number;
  };
  redis: { url: string; prefix: string; commandTimeoutMs: number };
  workers: { count: number; concurrency: number; heartbeatMs: number; warmUpMs: number; lockMs: number; stalledIntervalMs: number; maxStalledCount: number };
  events: { retentionSeconds: number; progressIntervalMs: number; socketsPerTenant: number };
  /** Training checkpoints (besides each job's checkpointFrequency): the longest stretch of training without one, and how many a job keeps. */
  checkpoints: { maxMinutes: number; kept: number };
  /** GET /metrics and Bull Board (both for admin keys only). */
  operations: { metricsPushIntervalMs: number; bullBoardReadOnly: boolean };
  predict: { maxInstances: number; cacheSize: number };
  /** Bounds on one custom layer's check (POST /v1/layers/check and before a job trains); each runs in a thread of its own. */
  layerCheck: { maxOperations: number; timeoutMs: number; heapMb: number; queue: number };
  logLevel: string;
  access: {
    /** `tenant:key` pairs from API_KEYS; keys themselves are hashed as soon as they are read. */
    keys: { tenant: string; sha256: string; admin: boolean }[];
    /** Where API_KEYS_FILE points, if anywhere: its hashed keys are read at start. */
    keysFile: string | null;
    corsOrigins: string[];
  };
  limits: {
    /** Requests a tenant (or, unauthenticated, an address) may make per minute, across API replicas. */
    requestsPerMinute: number;
    queuedJobsPerTenant: number;
    runningJobsPerTenant: number;
    modelsPerTenant: number;
    trainingSeconds: number;
    trainingMemoryBytes: number;
    jobBodyBytes: number;
    predictBodyBytes: number;
    pngBodyBytes: number;
    /** Pixels an image may declare before any decoder (predict's PNG, dataset ingestion) decodes it. */
    imagePixels: number;
  };
  /** Bounds on one uploaded dataset (see src/data/ingest/limits.ts for what each guards against). */
  datasets: {
    archiveBytes: number;
    /** An upload's body may take any time while bytes flow; this long without any cuts it. */
    uploadIdleTimeoutMs: number;
    /** Datasets one tenant may keep (ingesting, ready or failed). */
    perTenant: number;
    /** Bytes one tenant's datasets may take together: uploads while they ingest, stored shards once ready. */
    bytesPerTenant: number;
    images: number;
    uncompressedBytes: number;
    entries: number;
    ratio: number;
  };
}

interface Variable<K extends string> {
  name: string;
  default: string;
  doc: string;
  parse: (raw: string, name: string) => unknown;
  key: K;
}

const oneOf =
  (...values: string[]) =>
  (raw: string, name: string) => {
    if (!values.includes(raw)) throw new Error(`${name} must be one of ${values.join(', ')}, not '${raw}'`);
    return raw;
  };

const positiveInt = (raw: string, name: string) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not '${raw}'`);
  return n;
};

const threadCount = (raw: string, name: string) => {
  const n = positiveInt(raw, name);
  if (n > 8) throw new Error(`${name} must be 1 to 8 (tfjs-backend-wasm's worker pool), not '${raw}'`);
  return n;
};

const count = (raw: string, name: string) => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new Error(`${name} must be a whole number (0 or more), not '${raw}'`);
  return n;
};

const list = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** `tenant:key` entries; keys are hashed here and the raw values never leave this function. */
const apiKeys = (raw: string, name: string) =>
  list(raw).map((entry) => {
    const match = /^([A-Za-z0-9_.-]{1,64}):(\S{16,})$/.exec(entry);
    if (!match) throw new Error(`${name} entries must be tenant:key with a key of 16 or more characters (got an entry of ${entry.length} characters)`);
    return { tenant: match[1]!, sha256: sha256(match[2]!), admin: false };
  });

const adminKeys = (raw: string, name: string) =>
  list(raw).map((key) => {
    if (!/^\S{16,}$/.test(key)) throw new Error(`${name} keys must have 16 or more characters`);
    return { tenant: 'admin', sha256: sha256(key), admin: true };
  });

const optionalPath = (raw: string) => (raw.trim() === '' ? null : raw);

const port = (raw: string, name: string) => {
  const n = positiveInt(raw, name);
  if (n > 65535) throw new Error(`${name} must be a port number (1-65535), not '${raw}'`);
  return n;
};

const redisUrl = (raw: string, name: string) => {
  if (!/^rediss?:\/\/[^\s]+$/.test(raw)) throw new Error(`${name} must be a redis:// or rediss:// URL, not '${raw}'`);
  return raw;
};

const keyPrefix = (raw: string, name: string) => {
  if (!/^[A-Za-z0-9_.-]{1,40}$/.test(raw)) throw new Error(`${name} must be 1-40 letters, digits, '_', '.' or '-', not '${raw}'`);
  return raw;
};

const flag = (raw: string, name: string) => {
  if (raw !== 'true' && raw !== 'false') throw new Error(`${name} must be true or false, not '${raw}'`);
  return raw === 'true';
};

/** s3://bucket or s3://bucket/prefix/of/keys; '' for none (the filesystem). */
const storeUrl = (raw: string, name: string) => {
  if (raw === '') return null;
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*?))?\/*$/.exec(raw);
  const prefix = match?.[2] ?? '';
  if (!match || (prefix !== '' && !prefix.split('/').every(isKeySegment))) {
    throw new Error(`${name} must be s3://bucket or s3://bucket/prefix (a bucket name, then '/'-separated names not starting with '.'), or empty for DATA_DIR, not '${raw}'`);
  }
  return { bucket: match[1]!, prefix };
};

const optionalUrl = (raw: string, name: string) => {
  if (raw === '') return null;
  if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(raw)) throw new Error(`${name} must be an http:// or https:// URL, not '${raw}'`);
  return raw;
};

const optionalText = (raw: string) => raw;

const text = (raw: string, name: string) => {
  if (raw.trim() === '') throw new Error(`${name} must not be empty`);
  return raw;
};

export const configVariables = [
  { key: 'backend', name: 'TRAINYARD_BACKEND', default: 'auto', parse: oneOf(...backendPreferences), doc: backendDoc() },
  { key: 'threads', name: 'TRAINYARD_THREADS', default: '1', parse: threadCount, doc: 'threads (1 to 8) a worker process\'s wasm backend computes on: above 1, tfjs\'s threaded build runs XNNPACK on that many threads and trainyard\'s kernels split their work over a pool of as many. A process\'s jobs take turns on them (WORKER_CONCURRENCY adds none); keep WORKERS x TRAINYARD_THREADS at or under the cores (npm start warns otherwise). Worth it only where a worker has those cores to itself (see Benchmarks)' },
  { key: 'dataDir', name: 'DATA_DIR', default: './data', parse: text, doc: "folder for models and datasets (with STORE_URL set: only the read cache's and the embedded Redis's)" },
  { key: 'storeUrl', name: 'STORE_URL', default: '', parse: storeUrl, doc: 'where models and datasets are kept: empty for DATA_DIR, or `s3://bucket/prefix` for S3-compatible object storage (every API and worker host then needs no shared disk)' },
  { key: 's3Endpoint', name: 'S3_ENDPOINT', default: '', parse: optionalUrl, doc: "an S3-compatible server's URL (MinIO, Ceph, R2...); empty for AWS S3" },
  { key: 's3Region', name: 'S3_REGION', default: 'us-east-1', parse: text, doc: "the bucket's region" },
  { key: 's3ForcePathStyle', name: 'S3_FORCE_PATH_STYLE', default: 'false', parse: flag, doc: '`true` to address the bucket in the path (`endpoint/bucket/key`, as MinIO needs) rather than in the host name' },
  { key: 'awsAccessKeyId', name: 'AWS_ACCESS_KEY_ID', default: '', parse: optionalText, doc: "the object store's access key; empty: the AWS SDK's default chain (instance role, web identity, AWS_PROFILE)" },
  { key: 'awsSecretAccessKey', name: 'AWS_SECRET_ACCESS_KEY', default: '', parse: optionalText, doc: "the access key's secret (set both or neither)" },
  { key: 'awsSessionToken', name: 'AWS_SESSION_TOKEN', default: '', parse: optionalText, doc: 'session token of temporary credentials, if any' },
  { key: 'storeCacheDir', name: 'STORE_CACHE_DIR', default: '', parse: optionalPath, doc: 'folder of the local read cache of objects (model files, dataset shards) read from STORE_URL; empty: DATA_DIR/.store-cache. Processes may share it or each have their own' },
  { key: 'storeCacheBytes', name: 'STORE_CACHE_BYTES', default: '2147483648', parse: count, doc: 'bytes the read cache may hold (least recently used files go first); 0: no cache' },
  { key: 'verifiedShardBytes', name: 'SHARD_CACHE_BYTES', default: '268435456', parse: count, doc: "bytes of dataset shards a worker keeps in memory once verified against their checksums, so its next jobs on the same shards neither read nor hash them again while their etag is unchanged (least recently used go first; a shard larger than this is not kept); 0: none, every job reads and verifies its shards" },
  { key: 'maxLearnables', name: 'MAX_LEARNABLES', default: '50000000', parse: positiveInt, doc: 'most learnable parameters a network may have' },
  { key: 'maxLayers', name: 'MAX_LAYERS', default: '200', parse: positiveInt, doc: 'most layers a network may have' },
  { key: 'maxImageSide', name: 'MAX_IMAGE_SIDE', default: '4096', parse: positiveInt, doc: 'largest height or width of an image input' },
  { key: 'maxEpochs', name: 'MAX_EPOCHS', default: '1000', parse: positiveInt, doc: 'largest maxEpochs a job may ask for' },
  { key: 'maxMiniBatchSize', name: 'MAX_MINI_BATCH_SIZE', default: '4096', parse: positiveInt, doc: 'largest miniBatchSize a job may ask for' },
  { key: 'host', name: 'HOST', default: '127.0.0.1', parse: text, doc: 'address the API listens on (0.0.0.0 for every interface)' },
  { key: 'port', name: 'PORT', default: '3000', parse: port, doc: 'port the API listens on' },
  { key: 'bodyLimit', name: 'BODY_LIMIT_BYTES', default: '65536', parse: positiveInt, doc: 'largest request body of routes without a limit of their own' },
  { key: 'requestTimeoutMs', name: 'HTTP_REQUEST_TIMEOUT_MS', default: '30000', parse: positiveInt, doc: 'time a client has to send a whole request, headers and body (408 beyond it)' },
  { key: 'headersTimeoutMs', name: 'HTTP_HEADERS_TIMEOUT_MS', default: '10000', parse: positiveInt, doc: "time a client has to send a request's headers" },
  { key: 'connectionTimeoutMs', name: 'HTTP_IDLE_TIMEOUT_MS', default: '60000', parse: positiveInt, doc: 'a connection with no traffic this long is closed (event sockets are exempt)' },
  { key: 'keepAliveTimeoutMs', name: 'HTTP_KEEP_ALIVE_TIMEOUT_MS', default: '5000', parse: positiveInt, doc: 'how long an idle keep-alive connection waits for its next request' },
  { key: 'maxConnections', name: 'HTTP_MAX_CONNECTIONS', default: '1024', parse: positiveInt, doc: 'open connections (event sockets included) the API accepts; more are dropped' },
  { key: 'maxRequestsPerSocket', name: 'HTTP_MAX_REQUESTS_PER_SOCKET', default: '1000', parse: positiveInt, doc: 'requests one keep-alive connection may carry before it is closed' },
  { key: 'redisUrl', name: 'REDIS_URL', default: 'redis://127.0.0.1:6379', parse: redisUrl, doc: 'Redis for the queue, job catalogue, events and stop (cancel, pause) flags' },
  { key: 'redisPrefix', name: 'REDIS_PREFIX', default: 'trainyard', parse: keyPrefix, doc: 'prefix of every Redis key, so deployments can share a Redis' },
  { key: 'redisCommandTimeoutMs', name: 'REDIS_COMMAND_TIMEOUT_MS', default: '5000', parse: positiveInt, doc: "longest the API waits on one Redis command; with Redis down, /v1 requests answer 503 at once" },
  { key: 'workerCount', name: 'WORKERS', default: '1', parse: count, doc: 'worker processes `npm start` runs beside the API (0: the API alone)' },
  { key: 'workerConcurrency', name: 'WORKER_CONCURRENCY', default: '1', parse: positiveInt, doc: 'jobs one worker process trains at once' },
  { key: 'workerHeartbeatMs', name: 'WORKER_HEARTBEAT_MS', default: '5000', parse: positiveInt, doc: "how often a worker renews its announcement (GET /v1/admin/workers lists it, /readyz counts it); a worker silent for three beats drops out" },
  { key: 'workerWarmUpMs', name: 'WORKER_WARM_UP_MS', default: '1800000', parse: positiveInt, doc: "how long a worker stays listed as warming-up without renewing: compiling its first kernels blocks its heartbeat (CUDA's PTX JIT on an H100 takes minutes)" },
  { key: 'lockMs', name: 'JOB_LOCK_MS', default: '60000', parse: positiveInt, doc: 'BullMQ lock on a running job; renewed while it trains, it lapses this long after a worker dies' },
  { key: 'stalledIntervalMs', name: 'JOB_STALLED_INTERVAL_MS', default: '30000', parse: positiveInt, doc: 'how often workers look for jobs whose worker died' },
  { key: 'maxStalledCount', name: 'JOB_MAX_STALLS', default: '2', parse: positiveInt, doc: 'times a job whose worker died goes back to the queue before it fails with `Worker lost` (a job that kills every worker it meets must not loop for ever)' },
  { key: 'retentionSeconds', name: 'EVENT_RETENTION_SECONDS', default: '604800', parse: positiveInt, doc: "how long a finished job's event history is kept" },
  { key: 'progressIntervalMs', name: 'PROGRESS_INTERVAL_MS', default: '100', parse: positiveInt, doc: 'least time between two progress events of one job (verbose and validation records always go out)' },
  { key: 'checkpointMaxMinutes', name: 'CHECKPOINT_MAX_MINUTES', default: '10', parse: positiveInt, doc: "longest stretch of a job's training without a checkpoint, whatever its checkpointFrequency says (a job whose worker died loses at most this much)" },
  { key: 'checkpointsKept', name: 'CHECKPOINTS_KEPT', default: '2', parse: positiveInt, doc: "a running job's latest checkpoints kept in the store (more than one: a corrupt newest falls back to the one before); all are deleted when the job ends (a paused job keeps them until it is resumed and ends, or is cancelled)" },
  { key: 'socketsPerTenant', name: 'TENANT_MAX_EVENT_SOCKETS', default: '32', parse: positiveInt, doc: "event sockets one tenant may hold open on one API process; more close with 4429" },
  { key: 'metricsPushIntervalMs', name: 'METRICS_PUSH_INTERVAL_MS', default: '5000', parse: positiveInt, doc: "how often a worker pushes its metrics to Redis for the API's GET /metrics (they vanish three intervals after a worker stops)" },
  { key: 'bullBoardReadOnly', name: 'BULL_BOARD_READ_ONLY', default: 'true', parse: oneOf('true', 'false'), doc: "`false` lets admin keys retry, promote, clean and remove BullMQ jobs from Bull Board (/admin/queues), around the job catalogue: leave it `true` except to repair the queue by hand" },
  { key: 'maxPredictInstances', name: 'MAX_PREDICT_INSTANCES', default: '256', parse: positiveInt, doc: 'most images in one predict request' },
  { key: 'modelCacheSize', name: 'MODEL_CACHE_SIZE', default: '8', parse: positiveInt, doc: 'models kept loaded in memory for predict' },
  { key: 'layerCheckMaxOperations', name: 'LAYER_CHECK_MAX_OPERATIONS', default: '200000000', parse: positiveInt, doc: "element-operations (values x expression nodes, over every evaluation) one custom layer's check may spend; checks that would pass it are not run and the report says it was too expensive to check fully" },
  { key: 'layerCheckTimeoutMs', name: 'LAYER_CHECK_TIMEOUT_MS', default: '30000', parse: positiveInt, doc: "wall-clock limit of one custom layer's check; its thread is terminated past it and the report holds the checks that finished" },
  { key: 'layerCheckHeapMb', name: 'LAYER_CHECK_HEAP_MB', default: '1024', parse: positiveInt, doc: "JavaScript heap of a layer check's thread, in MiB; a check that needs more answers 422 (out of memory) and the thread is discarded" },
  { key: 'layerCheckQueue', name: 'LAYER_CHECK_QUEUE', default: '8', parse: count, doc: 'layer checks that may wait while one runs in an API process; more get 429' },
  { key: 'apiKeys', name: 'API_KEYS', default: '', parse: apiKeys, doc: 'tenant:key pairs, comma-separated; with no key at all the API binds to loopback only' },
  { key: 'adminKeys', name: 'ADMIN_API_KEYS', default: '', parse: adminKeys, doc: 'keys that see every tenant' },
  { key: 'keysFile', name: 'API_KEYS_FILE', default: '', parse: optionalPath, doc: 'JSON file of hashed keys (`npm run api-key` adds to it)' },
  { key: 'corsOrigins', name: 'CORS_ORIGINS', default: '', parse: list, doc: 'origins allowed to call the API from a browser (comma-separated; empty: CORS off)' },
  { key: 'requestsPerMinute', name: 'RATE_LIMIT_PER_MINUTE', default: '600', parse: positiveInt, doc: 'requests per minute per tenant (per address before authentication), counted in Redis' },
  { key: 'queuedJobsPerTenant', name: 'TENANT_MAX_QUEUED_JOBS', default: '100', parse: positiveInt, doc: 'jobs a tenant may have waiting, queued or paused' },
  { key: 'runningJobsPerTenant', name: 'TENANT_MAX_RUNNING_JOBS', default: '2', parse: positiveInt, doc: 'jobs of one tenant trained at once (a paused job does not count); more wait in the queue' },
  { key: 'modelsPerTenant', name: 'TENANT_MAX_MODELS', default: '100', parse: positiveInt, doc: 'models a tenant may keep; new jobs are refused beyond it' },
  { key: 'trainingSeconds', name: 'MAX_TRAINING_SECONDS', default: '3600', parse: positiveInt, doc: 'training time of one job; beyond it the job fails and its model so far is kept' },
  { key: 'trainingMemoryBytes', name: 'MAX_TRAINING_MEMORY_BYTES', default: '4294967296', parse: positiveInt, doc: 'estimated memory a job may need to train (activations, custom-layer intermediates, weights, gradients, solver state); on the wasm backend (and auto) at most 3 GiB whatever this says' },
  { key: 'jobBodyBytes', name: 'JOB_BODY_LIMIT_BYTES', default: '1048576', parse: positiveInt, doc: 'largest POST /v1/jobs body' },
  { key: 'predictBodyBytes', name: 'PREDICT_BODY_LIMIT_BYTES', default: '16777216', parse: positiveInt, doc: 'largest JSON predict body' },
  { key: 'pngBodyBytes', name: 'PNG_BODY_LIMIT_BYTES', default: '1048576', parse: positiveInt, doc: 'largest image (PNG or JPEG) predict body' },
  { key: 'imagePixels', name: 'MAX_IMAGE_PIXELS', default: '4194304', parse: positiveInt, doc: 'most pixels (width x height) an image may declare in its header; larger ones are refused before decoding' },
  { key: 'datasetArchiveBytes', name: 'DATASET_MAX_ARCHIVE_BYTES', default: '2147483648', parse: positiveInt, doc: 'largest dataset archive one upload may send' },
  { key: 'datasetUploadIdleTimeoutMs', name: 'DATASET_UPLOAD_IDLE_TIMEOUT_MS', default: '30000', parse: positiveInt, doc: "a dataset upload may take longer than HTTP_REQUEST_TIMEOUT_MS while its bytes flow; it is cut (408) once none arrive for this long" },
  { key: 'datasetsPerTenant', name: 'TENANT_MAX_DATASETS', default: '50', parse: positiveInt, doc: 'datasets a tenant may keep (ingesting, ready or failed); uploads beyond it are refused with 403' },
  { key: 'datasetBytesPerTenant', name: 'TENANT_MAX_DATASET_BYTES', default: '21474836480', parse: positiveInt, doc: "bytes a tenant's datasets may take together (an upload's archive while it ingests, its stored shards once ready); an upload that would pass it is refused with 403" },
  { key: 'datasetImages', name: 'DATASET_MAX_IMAGES', default: '1000000', parse: positiveInt, doc: 'most images one dataset may hold' },
  { key: 'datasetUncompressedBytes', name: 'DATASET_MAX_UNCOMPRESSED_BYTES', default: '17179869184', parse: positiveInt, doc: "most bytes a dataset archive's files may add up to uncompressed (a zip-bomb guard)" },
  { key: 'datasetEntries', name: 'DATASET_MAX_ENTRIES', default: '2000000', parse: positiveInt, doc: 'most entries (files, folders, links) a dataset archive may list' },
  { key: 'datasetRatio', name: 'DATASET_MAX_COMPRESSION_RATIO', default: '200', parse: positiveInt, doc: 'largest uncompressed/compressed ratio of one zip entry (of the whole stream for .tar.gz) larger than 1 MiB; beyond it the archive is refused as a bomb' },
  { key: 'logLevel', name: 'LOG_LEVEL', default: 'info', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), doc: 'pino log level' },
] as const satisfies readonly Variable<string>[];

type Key = (typeof configVariables)[number]['key'];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Reads and checks every variable; throws one ConfigError naming all the bad ones. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const values = {} as Record<Key, unknown>;
  for (const v of configVariables) {
    const raw = env[v.name] ?? v.default;
    try {
      values[v.key] = v.parse(raw, v.name);
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (Boolean(values.awsAccessKeyId) !== Boolean(values.awsSecretAccessKey)) problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together (or neither, for the default credential chain)');
  if (problems.length > 0) throw new ConfigError(problems);
  const get = <T>(key: Key) => values[key] as T;
  const dataDir = path.resolve(get<string>('dataDir'));
  const location = get<{ bucket: string; prefix: string } | null>('storeUrl');
  const accessKeyId = get<string>('awsAccessKeyId');
  const sessionToken = get<string>('awsSessionToken');
  return {
    backend: get<BackendPreference>('backend'),
    threads: get<number>('threads'),
    dataDir,
    store: {
      s3: location && {
        ...location,
        endpoint: get('s3Endpoint'),
        region: get('s3Region'),
        forcePathStyle: get('s3ForcePathStyle'),
        credentials: accessKeyId ? { accessKeyId, secretAccessKey: get('awsSecretAccessKey'), ...(sessionToken ? { sessionToken } : {}) } : null,
      },
      cache: { dir: path.resolve(get<string | null>('storeCacheDir') ?? path.join(dataDir, '.store-cache')), maxBytes: get('storeCacheBytes') },
      verifiedShardBytes: get('verifiedShardBytes'),
    },
    networkLimits: { maxLearnables: get('maxLearnables'), maxLayers: get('maxLayers'), maxImageSide: get('maxImageSide') },
    optionLimits: { maxEpochs: get('maxEpochs'), maxMiniBatchSize: get('maxMiniBatchSize') },
    http: {
      host: get('host'),
      port: get('port'),
      bodyLimit: get('bodyLimit'),
      requestTimeoutMs: get('requestTimeoutMs'),
      headersTimeoutMs: get('headersTimeoutMs'),
      connectionTimeoutMs: get('connectionTimeoutMs'),
      keepAliveTimeoutMs: get('keepAliveTimeoutMs'),
      maxConnections: get('maxConnections'),
      maxRequestsPerSocket: get('maxRequestsPerSocket'),
    },
    redis: { url: get('redisUrl'), prefix: get('redisPrefix'), commandTimeoutMs: get('redisCommandTimeoutMs') },
    workers: { count: get('workerCount'), concurrency: get('workerConcurrency'), heartbeatMs: get('workerHeartbeatMs'), warmUpMs: get('workerWarmUpMs'), lockMs: get('lockMs'), stalledIntervalMs: get('stalledIntervalMs'), maxStalledCount: get('maxStalledCount') },
    events: { retentionSeconds: get('retentionSeconds'), progressIntervalMs: get('progressIntervalMs'), socketsPerTenant: get('socketsPerTenant') },
    checkpoints: { maxMinutes: get('checkpointMaxMinutes'), kept: get('checkpointsKept') },
    operations: { metricsPushIntervalMs: get('metricsPushIntervalMs'), bullBoardReadOnly: get('bullBoardReadOnly') === 'true' },
    predict: { maxInstances: get('maxPredictInstances'), cacheSize: get('modelCacheSize') },
    layerCheck: { maxOperations: get('layerCheckMaxOperations'), timeoutMs: get('layerCheckTimeoutMs'), heapMb: get('layerCheckHeapMb'), queue: get('layerCheckQueue') },
    logLevel: get('logLevel'),
    access: {
      keys: [...get<Config['access']['keys']>('apiKeys'), ...get<Config['access']['keys']>('adminKeys')],
      keysFile: get('keysFile'),
      corsOrigins: get('corsOrigins'),
    },
    limits: {
      requestsPerMinute: get('requestsPerMinute'),
      queuedJobsPerTenant: get('queuedJobsPerTenant'),
      runningJobsPerTenant: get('runningJobsPerTenant'),
      modelsPerTenant: get('modelsPerTenant'),
      trainingSeconds: get('trainingSeconds'),
      trainingMemoryBytes: get('trainingMemoryBytes'),
      jobBodyBytes: get('jobBodyBytes'),
      predictBodyBytes: get('predictBodyBytes'),
      pngBodyBytes: get('pngBodyBytes'),
      imagePixels: get('imagePixels'),
    },
    datasets: {
      archiveBytes: get('datasetArchiveBytes'),
      uploadIdleTimeoutMs: get('datasetUploadIdleTimeoutMs'),
      perTenant: get('datasetsPerTenant'),
      bytesPerTenant: get('datasetBytesPerTenant'),
      images: get('datasetImages'),
      uncompressedBytes: get('datasetUncompressedBytes'),
      entries: get('datasetEntries'),
      ratio: get('datasetRatio'),
    },
  };
}
