/**
 * The API's resources as the page sees them: the types of the TypeBox schemas the routes declare
 * (src/api/schemas), which also generate openapi.yaml. Imported as types only, so the page's
 * bundle carries none of the schemas and none of the server's code.
 */
import type { Static } from '@sinclair/typebox';
import type * as datasets from '../../api/schemas/datasets.js';
import type * as jobs from '../../api/schemas/jobs.js';
import type * as models from '../../api/schemas/models.js';
import type * as networks from '../../api/schemas/networks.js';
import type * as problem from '../../api/schemas/problem.js';

export type JobStatus = Static<typeof jobs.JobStatus>;
export type Progress = Static<typeof jobs.Progress>;
export type Metrics = Static<typeof jobs.Metrics>;
export type JobError = Static<typeof jobs.JobError>;
export type Job = Static<typeof jobs.Job>;
export type JobRequest = Static<typeof jobs.JobRequest>;
/** One message of GET v1/jobs/:id/events; `id` is what `since` resumes after. */
export type JobEvent = Static<typeof jobs.JobEvent>;
export type TerminalEvent = Extract<JobEvent, { type: 'completed' | 'failed' | 'cancelled' }>;

export type Dataset = Static<typeof datasets.Dataset>;
export type DatasetDescription = Static<typeof datasets.DatasetDescription>;
/** One message of GET v1/datasets/:id/events. */
export type DatasetEvent = Static<typeof datasets.DatasetEvent>;
export type DatasetUploadOptions = Static<typeof datasets.CreateDatasetQuery>;

export type Model = Static<typeof models.Model>;
export type ModelEvaluation = Static<typeof models.ModelEvaluation>;
export type Prediction = Static<typeof models.Predictions>['predictions'][number];

/** POST v1/networks/analyze's answer: each layer's inputs, output size and learnables. */
export type NetworkAnalysis = Static<typeof networks.AnalyzeResponse>;

export type FieldProblem = Static<typeof problem.FieldProblem>;
/** An RFC 9457 problem, as every API error is. */
export type Problem = Static<typeof problem.Problem>;

export function isTerminal(event: JobEvent): event is TerminalEvent {
  return event.type === 'completed' || event.type === 'failed' || event.type === 'cancelled';
}

/** Whether ingestion ended with this event (nothing follows it). */
export function isIngestionEnd(event: DatasetEvent): event is Extract<DatasetEvent, { type: 'ready' | 'failed' }> {
  return event.type === 'ready' || event.type === 'failed';
}
