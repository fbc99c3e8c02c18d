import { askForKey, currentKey, forgetKey } from './api-key.js';
import type { Dataset, DatasetUploadOptions, Job, JobRequest, Model, NetworkAnalysis, Prediction, Problem } from './api-types.js';

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

const unreachable = () => new ApiError({ type: 'about:blank', title: 'Server unreachable', status: 0, detail: 'the server could not be reached; check that it is running' });

/** The request's body: JSON, or a raw one (an image) with its own content type. */
type Body = { json: unknown } | { raw: Blob; type: string };

function bodyInit(body: Body | undefined): { headers: Record<string, string>; body?: BodyInit } {
  if (!body) return { headers: {} };
  if ('json' in body) return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body.json) };
  return { headers: { 'content-type': body.type }, body: body.raw };
}

/** Runs `attempt` with the current key; after a 401 asks the user for a key and runs it once more. */
async function withKey<R extends { status: number }>(attempt: (key: string | null) => Promise<R>): Promise<R> {
  const key = currentKey();
  const response = await attempt(key);
  if (response.status !== 401) return response;
  if (key) forgetKey();
  const entered = await askForKey(key ? 'That key was not accepted. Enter another one.' : 'This server needs an API key.');
  return entered ? attempt(entered) : response;
}

const authorization = (key: string | null): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});

function request(method: string, path: string, body?: Body): Promise<Response> {
  const init = bodyInit(body);
  return withKey((key) =>
    fetch(relative(path), { method, headers: { accept: 'application/json', ...authorization(key), ...init.headers }, ...(init.body ? { body: init.body } : {}) }).catch(() => {
      throw unreachable();
    }),
  );
}

async function send<T>(method: string, path: string, body?: Body): Promise<T> {
  const response = await request(method, path, body);
  const text = await response.text();
  if (!response.ok) throw new ApiError(problemFrom(response.status, response.statusText, response.headers.get('content-type'), text));
  return (text ? JSON.parse(text) : null) as T;
}

/** A binary answer (a file, an image) fetched with the key, which a plain link or img could not send. */
async function binary(path: string): Promise<Response> {
  const response = await request('GET', path);
  if (!response.ok) throw new ApiError(problemFrom(response.status, response.statusText, response.headers.get('content-type'), await response.text()));
  return response;
}

/**
 * Sends a file as the one field of a multipart form with XMLHttpRequest, whose upload events
 * report the bytes sent (fetch reports no progress of a request's body).
 */
async function upload<T>(path: string, file: File, onProgress: (sent: number, total: number) => void): Promise<T> {
  const xhr = await withKey(
    (key) =>
      new Promise<XMLHttpRequest>((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', relative(path));
        xhr.setRequestHeader('accept', 'application/json');
        for (const [name, value] of Object.entries(authorization(key))) xhr.setRequestHeader(name, value);
        xhr.upload.addEventListener('progress', (e) => e.lengthComputable && onProgress(e.loaded, e.total));
        xhr.addEventListener('load', () => resolve(xhr));
        xhr.addEventListener('error', () => reject(unreachable()));
        const form = new FormData();
        form.append('file', file, file.name);
        xhr.send(form);
      }),
  );
  if (xhr.status < 200 || xhr.status >= 300) throw new ApiError(problemFrom(xhr.status, xhr.statusText, xhr.getResponseHeader('content-type'), xhr.responseText));
  return JSON.parse(xhr.responseText) as T;
}

function problemFrom(status: number, statusText: string, contentType: string | null, text: string): Problem {
  if (contentType?.includes('json')) {
    try {
      return JSON.parse(text) as Problem;
    } catch {
      // not JSON after all: described below like any other non-problem answer
    }
  }
  return { type: 'about:blank', title: statusText || 'Error', status, detail: text.slice(0, 200) || `the server answered ${status}` };
}

/** A WebSocket to an event stream, resuming after event `since` when given. */
function events(path: string, since: string | undefined): WebSocket {
  const url = relative(`${path}${since ? `?since=${segment(since)}` : ''}`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const key = currentKey();
  return key ? new WebSocket(url, ['trainyard.v1', `trainyard.key.${key}`]) : new WebSocket(url);
}

/** The query of an upload: the options given, in the API's own names. */
function uploadQuery(options: DatasetUploadOptions): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(options)) if (value !== undefined) query.set(name, String(value));
  const text = query.toString();
  return text ? `?${text}` : '';
}

export const api = {
  listJobs: () => send<{ jobs: Job[]; nextCursor: string | null }>('GET', 'v1/jobs?limit=50'),
  job: (id: string) => send<Job>('GET', `v1/jobs/${segment(id)}`),
  submitJob: (request: JobRequest) => send<Job>('POST', 'v1/jobs', { json: request }),
  cancelJob: (id: string) => send<Job>('DELETE', `v1/jobs/${segment(id)}`),
  /** The network a job was submitted with. */
  jobNetwork: async (id: string) => (await send<{ network: unknown }>('GET', `v1/jobs/${segment(id)}/network`)).network,
  /** Each layer's inputs, output size and learnables (MATLAB's analyzeNetwork). */
  analyzeNetwork: (network: unknown) => send<NetworkAnalysis>('POST', 'v1/networks/analyze', { json: { network } }),
  pauseJob: (id: string) => send<Job>('POST', `v1/jobs/${segment(id)}/pause`),
  resumeJob: (id: string) => send<Job>('POST', `v1/jobs/${segment(id)}/resume`),
  model: (id: string) => send<Model>('GET', `v1/models/${segment(id)}`),
  /** One image as h*w*c numbers (row-major, channels last). */
  predict: async (id: string, pixels: number[]) =>
    (await send<{ predictions: Prediction[] }>('POST', `v1/models/${segment(id)}/predict`, { json: { instances: [pixels] } })).predictions[0]!,
  /** One PNG or JPEG file of any size, which the server converts as the model's dataset's images were. */
  predictImage: async (id: string, image: Blob, type: 'image/png' | 'image/jpeg') =>
    (await send<{ predictions: Prediction[] }>('POST', `v1/models/${segment(id)}/predict`, { raw: image, type })).predictions[0]!,
  seedNetwork: () => send<unknown>('GET', 'ui/seed-network.json'),
  /** A model file as a blob. */
  modelFile: async (id: string, file: string) => (await binary(`v1/models/${segment(id)}/files/${segment(file)}`)).blob(),
  /** The sprite of a model's misclassified test images, as a blob (fetched with the key). */
  misclassifiedImages: async (id: string) => (await binary(`v1/models/${segment(id)}/misclassified.png`)).blob(),
  /** The job's event socket, resuming after event `since` when given. */
  openJobEvents: (id: string, since: string | undefined) => events(`v1/jobs/${segment(id)}/events`, since),

  listDatasets: () => send<{ datasets: Dataset[]; nextCursor: string | null }>('GET', 'v1/datasets?limit=100'),
  dataset: (id: string) => send<Dataset>('GET', `v1/datasets/${segment(id)}`),
  deleteDataset: (id: string) => send<null>('DELETE', `v1/datasets/${segment(id)}`),
  /** Uploads an archive; `onProgress` follows the bytes sent. */
  uploadDataset: (file: File, options: DatasetUploadOptions, onProgress: (sent: number, total: number) => void) =>
    upload<Dataset>(`v1/datasets${uploadQuery(options)}`, file, onProgress),
  /** The dataset's event socket (ingestion), resuming after event `since` when given. */
  openDatasetEvents: (id: string, since: string | undefined) => events(`v1/datasets/${segment(id)}/events`, since),
  /** A strip of a few training images per class (a row each), and how many tiles each row holds. */
  datasetSamples: async (id: string) => {
    const response = await binary(`v1/datasets/${segment(id)}/samples.png`);
    const counts = (response.headers.get('x-sample-counts') ?? '').split(',').filter(Boolean).map(Number);
    return { image: await response.blob(), counts };
  },
};
