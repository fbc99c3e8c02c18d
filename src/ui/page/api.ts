import type { Job, JobRequest, Model, Prediction, Problem } from './api-types.js';

/**
 * The one module that talks to the API. Every URL is relative to the page's own address, so the
 * page works wherever it is mounted (a proxy's path prefix included); when the API gains
 * credentials, `send` and `openSocket` are the only places that need to add them.
 */

/** A failed call: the API's problem document, or one made up when the server was not reached. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = 'ApiError';
  }

  get status(): number {
    return this.problem.status;
  }
}

/** An address under the page's base: `relative('v1/jobs')` is /v1/jobs at the root, /prefix/v1/jobs under a prefix. */
function relative(path: string): URL {
  return new URL(path, document.baseURI);
}

const segment = encodeURIComponent;

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(relative(path), {
      method,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError({ type: 'about:blank', title: 'Server unreachable', status: 0, detail: 'the server could not be reached; check that it is running' });
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(problemFrom(response, text));
  return (text ? JSON.parse(text) : null) as T;
}

function problemFrom(response: Response, text: string): Problem {
  if (response.headers.get('content-type')?.includes('json')) {
    try {
      return JSON.parse(text) as Problem;
    } catch {
      // not JSON after all: described below like any other non-problem answer
    }
  }
  return { type: 'about:blank', title: response.statusText || 'Error', status: response.status, detail: text.slice(0, 200) || `the server answered ${response.status}` };
}

export const api = {
  listJobs: () => send<{ jobs: Job[]; nextCursor: string | null }>('GET', 'v1/jobs?limit=50'),
  job: (id: string) => send<Job>('GET', `v1/jobs/${segment(id)}`),
  submitJob: (request: JobRequest) => send<Job>('POST', 'v1/jobs', request),
  cancelJob: (id: string) => send<Job>('DELETE', `v1/jobs/${segment(id)}`),
  model: (id: string) => send<Model>('GET', `v1/models/${segment(id)}`),
  /** One image as h*w*c numbers (row-major, channels last). */
  predict: async (id: string, pixels: number[]) =>
    (await send<{ predictions: Prediction[] }>('POST', `v1/models/${segment(id)}/predict`, { instances: [pixels] })).predictions[0]!,
  seedNetwork: () => send<unknown>('GET', 'ui/seed-network.json'),
  modelFileUrl: (id: string, file: string) => relative(`v1/models/${segment(id)}/files/${segment(file)}`).href,
  /** The job's event socket, resuming after event `since` when given. */
  openJobEvents(id: string, since: string | undefined): WebSocket {
    const url = relative(`v1/jobs/${segment(id)}/events${since ? `?since=${segment(since)}` : ''}`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    return new WebSocket(url);
  },
};
