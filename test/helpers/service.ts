import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { app, fastifyOptions } from '../../src/api/app.js';
import { createServices, type Services } from '../../src/api/services.js';
import { loadConfig, type Config } from '../../src/config.js';
import { initBackend } from '../../src/nn/backend.js';
import type { JobRecord, StoredEvent } from '../../src/queue/jobs.js';
import { deletePrefix, uniquePrefix } from './redis.js';

const root = path.resolve(import.meta.dirname, '../..');

/** The environment shared by the API under test and its worker processes. */
export interface ServiceEnv {
  env: Record<string, string>;
  config: Config;
  dataDir: string;
  /** Deletes its data folder and every Redis key under its prefix. */
  cleanup(): Promise<void>;
}

export async function serviceEnv(name: string, redisUrl: string, extra: Record<string, string> = {}): Promise<ServiceEnv> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `trainyard-${name}-`));
  const env = {
    REDIS_URL: redisUrl,
    REDIS_PREFIX: uniquePrefix(name),
    DATA_DIR: dataDir,
    TRAINYARD_BACKEND: 'wasm',
    LOG_LEVEL: 'warn',
    PROGRESS_INTERVAL_MS: '50',
    ...extra,
  };
  const config = loadConfig(env);
  return {
    env,
    config,
    dataDir,
    cleanup: async () => {
      await deletePrefix(redisUrl, config.redis.prefix);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A route as the app registered it: its method, URL pattern and whether it is declared public. */
export interface RegisteredRoute {
  method: string;
  url: string;
  public: boolean;
}

/** The real API, in this process, on a free port. */
export class Api {
  private constructor(
    readonly fastify: FastifyInstance,
    readonly services: Services,
    readonly base: string,
    /** Every route the app registered (HEAD routes Fastify adds included), in order. */
    readonly routes: RegisteredRoute[],
  ) {}

  static async start(config: Config): Promise<Api> {
    await initBackend('wasm');
    const services = await createServices(config);
    const fastify = Fastify({ ...fastifyOptions(config.http), logger: false }).withTypeProvider<TypeBoxTypeProvider>();
    const routes: RegisteredRoute[] = [];
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url, public: (route.config as { public?: boolean } | undefined)?.public === true });
    });
    await fastify.register(app, { services });
    await fastify.listen({ host: '127.0.0.1', port: 0 });
    const { port } = fastify.server.address() as { port: number };
    return new Api(fastify, services, `http://127.0.0.1:${port}`, routes);
  }

  async close(): Promise<void> {
    await this.fastify.close();
    await this.services.close();
  }

  async json<T = Record<string, unknown>>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const response = await fetch(this.base + url, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T, headers: response.headers };
  }

  submit(body: unknown, headers?: Record<string, string>) {
    return this.json<JobRecord & { links: Record<string, string> }>('POST', '/v1/jobs', body, headers);
  }

  async job(id: string): Promise<JobRecord> {
    return (await this.json<JobRecord>('GET', `/v1/jobs/${id}`)).body;
  }

  /** Polls the job until `done` says so (or the timeout passes). */
  async waitFor(id: string, done: (job: JobRecord) => boolean, timeoutMs = 120_000): Promise<JobRecord> {
    const start = Date.now();
    for (;;) {
      const job = await this.job(id);
      if (done(job)) return job;
      if (Date.now() - start > timeoutMs) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Opens the job's event socket and collects messages until it closes. */
  watch(id: string, since?: string): Watcher {
    return new Watcher(`${this.base.replace('http', 'ws')}/v1/jobs/${id}/events${since ? `?since=${since}` : ''}`);
  }
}

export class Watcher {
  readonly events: StoredEvent[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, protocols: string[] = []) {
    this.socket = new WebSocket(url, protocols);
    this.socket.on('message', (data) => this.events.push(JSON.parse(String(data)) as StoredEvent));
    this.closed = new Promise((resolve) => this.socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** Resolves once an event satisfies `match`. */
  async until(match: (e: StoredEvent) => boolean, timeoutMs = 120_000): Promise<StoredEvent> {
    const start = Date.now();
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (Date.now() - start > timeoutMs) throw new Error('event not seen in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A real worker process (workers/worker-process.ts), as `npm run worker` starts it. */
export class WorkerProcess {
  readonly exited: Promise<number | null>;
  private output = '';

  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(env: Record<string, string>): Promise<WorkerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/worker-process.ts'], {
      cwd: root,
      env: { ...process.env, ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new WorkerProcess(child);
    const start = Date.now();
    while (!worker.output.includes('worker ready')) {
      if (child.exitCode !== null) throw new Error(`worker exited: ${worker.output}`);
      if (Date.now() - start > 60_000) throw new Error(`worker did not become ready: ${worker.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return worker;
  }

  get log(): string {
    return this.output;
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export { seedNetworkJson as seedNetwork } from './data.js';
