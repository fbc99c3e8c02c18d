import { Api, serviceEnv, WorkerProcess, type ServiceEnv } from './service.js';

/** The API in this process plus worker processes, on one Redis, under a key prefix of their own. */
export class Stack {
  private constructor(
    readonly env: ServiceEnv,
    public api: Api,
    readonly workers: WorkerProcess[],
  ) {}

  static async start(name: string, redisUrl: string, extraEnv: Record<string, string> = {}, workers = 1): Promise<Stack> {
    const env = await serviceEnv(name, redisUrl, extraEnv);
    const api = await Api.start(env.config);
    const started = await Promise.all(Array.from({ length: workers }, () => WorkerProcess.start(env.env)));
    return new Stack(env, api, started);
  }

  /** Starts one more worker process, listed in `workers` (so stop() kills it too). */
  async startWorker(): Promise<WorkerProcess> {
    const worker = await WorkerProcess.start(this.env.env);
    this.workers.push(worker);
    return worker;
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.kill('SIGKILL')));
    await this.api.close();
    await this.env.cleanup();
  }
}
