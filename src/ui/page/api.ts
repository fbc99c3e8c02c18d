import { askForKey, currentKey, forgetKey } from './api-key.js';
import type { Job, JobRequest, Model, Prediction, Problem } from './api-types.js';

/**
 * The one module that talks to the API. Every URL is relative to the page's own address, so the
 * page works wherever it is mounted (a proxy's path prefix included). When the server has API
 * keys, requests carry the key as a bearer token and the event socket offers it as a
 * `trainyard.key.<key>` subprotocol (browsers cannot set headers on a WebSocket); a 401 asks the
 * user for a key and tries once more.
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

async function request(method: string, path: string, body?: unknown, retried = false): Promise<Response> {
  const key = currentKey();
  let response: Response;
  try {
    response = await fetch(relative(path), {
      method,
      headers: {
        accept: 'application/json',
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError({ type: 'about:blank', title: 'Server unreachable', status: 0, detail: 'the server could not be reached; check that it is running' });
  }
  if (response.status === 401 && !retried) {
    if (key) forgetKey();
    const entered = await askForKey(key ? 'That key was not accepted. Enter another one.' : 'This server needs an API key.');
    if (entered) return request(method, path, body, true);
  }
  return response;
}

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await request(method, path, body);
  const text = await response.text();
  if (!response.ok) throw new ApiError(problemFrom(response, text));
  return (text ? JSON.parse(text) : null) as T;
}

/** A binary answer (a file, an image) fetched with the key, which a plain link or img could not send. */
async function blob(path: string): Promise<Blob> {
  const response = await request('GET', path);
  if (!response.ok) throw new ApiError(problemFrom(response, await response.text()));
  return response.blob();
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
  /** A model file as a blob. */
  modelFile: (id: string, file: string) => blob(`v1/models/${segment(id)}/files/${segment(file)}`),
  /** The sprite of a model's misclassified test images, as a blob (fetched with the key). */
  misclassifiedImages: (id: string) => blob(`v1/models/${segment(id)}/misclassified.png`),
  /** The job's event socket, resuming after event `since` when given. */
  openJobEvents(id: string, since: string | undefined): WebSocket {
    const url = relative(`v1/jobs/${segment(id)}/events${since ? `?since=${segment(since)}` : ''}`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const key = currentKey();
    return key ? new WebSocket(url, ['trainyard.v1', `trainyard.key.${key}`]) : new WebSocket(url);
  },
};
