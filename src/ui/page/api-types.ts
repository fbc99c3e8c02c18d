/**
 * The API's resources as the page sees them (openapi.yaml is the contract). Written out here
 * rather than imported from the server's modules, so the page's bundle and type check depend on
 * the published shapes only, not on the engine.
 */
export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface Progress {
  epoch: number;
  iteration: number;
  /** Seconds since training started. */
  timeElapsed: number;
  miniBatchLoss: number;
  /** A fraction, 0 to 1. */
  miniBatchAccuracy: number;
  baseLearnRate: number;
  /** Iterations the run takes unless stopped early. */
  totalIterations: number;
  /** A row of MATLAB's verbose table. */
  verbose: boolean;
  validationLoss?: number;
  validationAccuracy?: number;
}

export interface Metrics {
  miniBatchLoss: number | null;
  miniBatchAccuracy: number | null;
  validationLoss?: number;
  validationAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
}

export interface FieldProblem {
  path: string;
  message: string;
}

export interface JobError {
  title: string;
  detail: string;
  problems?: FieldProblem[];
}

export interface Job {
  id: string;
  name: string | null;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  progress: Progress | null;
  backend: string | null;
  workerId: string | null;
  modelId: string | null;
  metrics: Metrics | null;
  error: JobError | null;
  attempts: number;
  cancelRequested: boolean;
}

export interface JobRequest {
  network: unknown;
  dataset: string | { id: string; trainImages?: number };
  options?: Record<string, unknown>;
  name?: string;
}

/** One message of GET v1/jobs/:id/events; `id` is what `since` resumes after. */
export type JobEvent = { id: string } & (
  | { type: 'status'; status: 'queued' | 'running' }
  | ({ type: 'progress' } & Progress)
  | { type: 'completed'; modelId: string; metrics: Metrics }
  | { type: 'failed'; error: JobError }
  | { type: 'cancelled' }
);

export type TerminalEvent = Extract<JobEvent, { type: 'completed' | 'failed' | 'cancelled' }>;

export function isTerminal(event: JobEvent): event is TerminalEvent {
  return event.type === 'completed' || event.type === 'failed' || event.type === 'cancelled';
}

export interface Model {
  id: string;
  createdAt: string;
  network: unknown;
  classes: string[];
  /** [height, width, channels] */
  inputSize: [number, number, number];
  normalization: { type: string };
  training: {
    options: Record<string, unknown>;
    dataset: string;
    trainImages: number;
    backend: { name: string; device: string };
    stopReason: string;
    iterations: number;
    epochs: number;
    trainingSeconds: number;
    seed: number;
  };
  metrics: Metrics;
  jobId?: string;
  files: string[];
}

export interface Prediction {
  label: string;
  probabilities: Record<string, number>;
}

/** An RFC 9457 problem, as every API error is. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldProblem[];
}
