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

/**
 * A client of an API at `base`: JSON requests, jobs, event sockets. With a key, every request and
 * socket carries it (the bearer header; the socket's subprotocols, as the page sends it).
 */
export class ApiClient {
  private readonly auth: Record<string, string>;
  private readonly protocols: string[];

  constructor(
    readonly base: string,
    key?: string,
  ) {
    this.auth = key ? { authorization: `Bearer ${key}` } : {};
    this.protocols = key ? ['trainyard.v1', `trainyard.key.${key}`] : [];
  }

  async json<T = Record<string, unknown>>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
    const response = await fetch(this.base + url, {
      method,
      headers: { ...this.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
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
    return new Watcher(`${this.base.replace('http', 'ws')}/v1/jobs/${id}/events${since ? `?since=${since}` : ''}`, this.protocols);
  }
}

/** The real API, in this process, on a free port. */
export class Api extends ApiClient {
  private constructor(
    readonly fastify: FastifyInstance,
    readonly services: Services,
    base: string,
    /** Every route the app registered (HEAD routes Fastify adds included), in order. */
    readonly routes: RegisteredRoute[],
  ) {
    super(base);
  }

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

/** How `npm run worker` and `npm start` (without its `prestart` page build) run their entry points. */
export const workerCommand = [process.execPath, '--import', 'tsx', 'workers/worker-process.ts'];
export const apiCommand = [process.execPath, '--import', 'tsx', 'src/server.ts'];

/** A child process of the test (a worker, a server) with its output kept, started until it says it is ready. */
export class ServiceProcess {
  readonly exited: Promise<number | null>;
  private output = '';

  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Runs `command` in the repository with the test's environment plus `env`, until its output contains `ready`. */
  static async start(command: string[], env: Record<string, string>, ready: string, timeoutMs = 60_000): Promise<ServiceProcess> {
    const child = spawn(command[0]!, command.slice(1), { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const started = new ServiceProcess(child);
    const start = Date.now();
    while (!started.output.includes(ready)) {
      if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited: ${started.output}`);
      if (Date.now() - start > timeoutMs) {
        child.kill('SIGKILL');
        throw new Error(`${command.join(' ')} did not say '${ready}' within ${timeoutMs} ms: ${started.output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return started;
  }

  get log(): string {
    return this.output;
  }

  kill(signal: NodeJS.Signals): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** A real worker process (workers/worker-process.ts), as `npm run worker` starts it. */
export type WorkerProcess = ServiceProcess;
export const WorkerProcess = {
  start: (env: Record<string, string>): Promise<WorkerProcess> => ServiceProcess.start(workerCommand, { ...env, LOG_LEVEL: 'info' }, 'worker ready'),
};

export { seedNetworkJson as seedNetwork } from './data.js';
