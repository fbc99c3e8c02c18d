import type { ProgressRecord } from '../nn/train.js';
import type { Problem } from '../nn/problems.js';

/**
 * queued → running → completed | failed | cancelled; running → queued (handed back on shutdown);
 * queued | running → paused (a user's pause: a running job checkpoints first) → queued (resumed) or
 * cancelled. See README, "Pausing and resuming".
 */
export const jobStatuses = ['queued', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];
export const terminalStatuses: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

import type { DatasetRef } from '../data/dataset-catalogue.js';
import type { ModelMetrics } from '../store/models.js';
import type { InitialModelUse } from '../run/initial-model.js';
import type { SkippedCheckpoint } from '../store/checkpoints.js';

/** What a user submits: validated by the API before queueing and again by the worker. */
export interface JobRequest {
  network: unknown;
  dataset: DatasetRef;
  options?: unknown;
  name?: string;
  /** The id of one of the tenant's models its network starts from (src/run/initial-model.ts). */
  initialModel?: string;
}

/** Why a job failed, in the words a user needs; never a stack trace. */
export interface JobError {
  title: string;
  detail: string;
  problems?: Problem[];
  /** A custom layer's check report, when that check failed. */
  report?: unknown;
}

/** A job's results are its model's metrics. */
export type JobMetrics = ModelMetrics;

export interface JobRecord {
  id: string;
  /** Who submitted it: another tenant's requests never see it. */
  tenant: string;
  name: string | null;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** The last progress record published. */
  progress: ProgressRecord | null;
  backend: string | null;
  workerId: string | null;
  modelId: string | null;
  metrics: JobMetrics | null;
  error: JobError | null;
  /** How many times a worker has started it (more than 1 after a worker died or shut down). */
  attempts: number;
  cancelRequested: boolean;
  /** A pause was asked while it ran: it checkpoints at the next iteration boundary and becomes paused. */
  pauseRequested: boolean;
  /** The model it starts from and which layers take its weights, as the API found when it was submitted; null: from scratch. */
  initialModel: InitialModelUse | null;
}

/** Events of a job, as stored in its stream and sent over the WebSocket (with the stream id). */
export type JobEvent =
  | { type: 'status'; status: 'queued' | 'running' }
  /** A job picked up again resumed from its checkpoint after `iteration`; newer checkpoints that did not decode, if any, are named. */
  | { type: 'status'; status: 'resumed'; iteration: number; skippedCheckpoints?: SkippedCheckpoint[] }
  /** A job picked up again whose every checkpoint did not decode: it starts again from iteration 1. */
  | { type: 'status'; status: 'restarted'; skippedCheckpoints: SkippedCheckpoint[] }
  /** Paused by its user; a resume goes on after `iteration`, its newest checkpoint (0: from the start). */
  | { type: 'status'; status: 'paused'; iteration: number }
  | ({ type: 'progress' } & ProgressRecord)
  | { type: 'completed'; modelId: string; metrics: JobMetrics }
  | { type: 'failed'; error: JobError }
  | { type: 'cancelled' };

export type StoredEvent = JobEvent & { id: string };

export function isTerminalEvent(event: JobEvent): boolean {
  return event.type === 'completed' || event.type === 'failed' || event.type === 'cancelled';
}
