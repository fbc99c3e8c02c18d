import { Type } from '@sinclair/typebox';
import { component } from './component.js';
import { FieldProblem } from './problem.js';

/**
 * The shapes of jobs and their events as the API sends and takes them. The network and options
 * are only required to be objects here; their contents are checked by the engine's own validators,
 * which know every layer and option. The queue's own types (src/queue/jobs.ts) must stay
 * assignable to these both ways: the routes' typed replies and queries make the compiler check it.
 */
export const JobStatus = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('paused'), Type.Literal('completed'), Type.Literal('failed'), Type.Literal('cancelled')], {
  description: 'queued → running → completed | failed | cancelled; a pause takes a queued or running job to paused, a resume back to queued',
});

export const JobId = Type.String({ description: 'a job id (26-character ULID)' });

export const DatasetRef = Type.Union(
  [
    Type.String({ minLength: 1, maxLength: 64, description: 'a built-in dataset ("digits") or the id of one of your stored datasets', examples: ['digits'] }),
    Type.Object(
      {
        id: Type.String({ minLength: 1, maxLength: 64, examples: ['digits'] }),
        trainImages: Type.Optional(Type.Integer({ minimum: 1, description: 'train on the first N images of the training split' })),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      'A built-in dataset by name ("digits") or one of your stored datasets by id (another tenant\'s is answered as not existing), ' +
      'or an object to train on the first `trainImages` images of its training split. The network must fit its images (size, channels) and classes.',
  },
);

export const seedJobExample = {
  name: 'seed',
  dataset: 'digits',
  options: { maxEpochs: 1, miniBatchSize: 64 },
  network: {
    layers: [
      { type: 'imageInput', inputSize: [28, 28, 1] },
      { type: 'convolution2d', filterSize: 5, numFilters: 20 },
      { type: 'batchNormalization' },
      { type: 'elu', numChannels: 20 },
      { type: 'fullyConnected', outputSize: 10 },
      { type: 'softmax' },
      { type: 'classification' },
    ],
  },
};

/** A two-element [min, max] (min not above max: the engine checks it and names the field). */
const Interval = (description: string) => Type.Array(Type.Number(), { minItems: 2, maxItems: 2, description });

/** MATLAB's imageDataAugmenter subset; each training image of each mini-batch gets one random transform (same size, 0 outside). */
export const Augmentation = Type.Object(
  {
    randXReflection: Type.Optional(Type.Boolean({ description: 'mirror left-right with probability 1/2; default false' })),
    randYReflection: Type.Optional(Type.Boolean({ description: 'mirror top-bottom with probability 1/2; default false' })),
    randRotation: Type.Optional(Interval('degrees, uniform in [min, max]; positive turns counter-clockwise; default [0, 0]')),
    randScale: Type.Optional(Interval('scale factor about the centre, uniform in [min, max], above 0; default [1, 1]')),
    randXTranslation: Type.Optional(Interval('pixels right, uniform in [min, max]; default [0, 0]')),
    randYTranslation: Type.Optional(Interval('pixels down, uniform in [min, max]; default [0, 0]')),
  },
  {
    additionalProperties: false,
    description: 'Off unless given. Seeded from the run\'s seed: the same seed augments the same way. Applied to training mini-batches only.',
  },
);

export const JobRequest = Type.Object(
  {
    network: Type.Object({}, { additionalProperties: true, description: '`{"layers": [...]}`; see the README for every layer type and parameter.' }),
    dataset: DatasetRef,
    options: Type.Optional(
      Type.Object(
        {
          augmentation: Type.Optional(Type.Union([Augmentation, Type.Null()])),
          checkpointFrequency: Type.Optional(
            Type.Integer({ minimum: 1, description: 'a checkpoint every this many checkpointFrequencyUnit (default 1), and at least every CHECKPOINT_MAX_MINUTES of training; a job whose worker died resumes from its latest' }),
          ),
          checkpointFrequencyUnit: Type.Optional(Type.Union([Type.Literal('epoch'), Type.Literal('iteration')], { description: "default 'epoch'" })),
        },
        { additionalProperties: true, description: 'MATLAB trainingOptions names (solver, initialLearnRate, maxEpochs, miniBatchSize, checkpointFrequency, ...) and `augmentation`.' },
      ),
    ),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    initialModel: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          "the id of one of your models to start from: the network's layers of the same name, type and learnable sizes take its weights, the others start as usual " +
          '(transfer learning: rename the layers to replace); at least one must match',
      }),
    ),
  },
  { additionalProperties: false, examples: [seedJobExample] },
);

export const CreateJobHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'a repeated request with the same key returns the job the first one created (for 24 hours)' })),
});

export const JobParams = Type.Object({ id: JobId }, { additionalProperties: false });

export const JobNetwork = Type.Object({ network: Type.Unknown({ description: 'the network as submitted; POST /v1/networks/analyze gives its sizes' }) });

export const ListJobsQuery = Type.Object(
  {
    status: Type.Optional(JobStatus),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The `nextCursor` of the previous page.' })),
  },
  { additionalProperties: false },
);

export const EventsQuery = Type.Object(
  { since: Type.Optional(Type.String({ maxLength: 64, description: 'Resume after this event id (exclusive): a stream id `<ms>-<seq>`.' })) },
  { additionalProperties: false },
);

/** A loss or an accuracy: null once training diverged, since NaN and Infinity have no JSON form. */
const Measure = (description?: string) => Type.Union([Type.Number(), Type.Null()], description ? { description } : {});

export const Progress = Type.Object({
  epoch: Type.Integer(),
  iteration: Type.Integer(),
  timeElapsed: Type.Number({ description: 'seconds since training started' }),
  miniBatchLoss: Measure(),
  miniBatchAccuracy: Measure('a fraction, 0 to 1'),
  baseLearnRate: Type.Number(),
  totalIterations: Type.Integer({ description: 'iterations the run takes unless stopped early (maxEpochs x iterations per epoch)' }),
  verbose: Type.Boolean({ description: "a row of MATLAB's verbose table: iteration 1, every verboseFrequency iterations, and the last" }),
  validationLoss: Type.Optional(Measure()),
  validationAccuracy: Type.Optional(Measure()),
}, { [component]: 'Progress' });

export const Metrics = Type.Object({
  miniBatchLoss: Measure(),
  miniBatchAccuracy: Measure(),
  validationLoss: Type.Optional(Measure()),
  validationAccuracy: Type.Optional(Measure()),
  testLoss: Type.Optional(Measure()),
  testAccuracy: Type.Optional(Measure()),
}, { [component]: 'Metrics' });

export const JobError = Type.Object({
  title: Type.String(),
  detail: Type.String(),
  problems: Type.Optional(Type.Array(FieldProblem)),
  report: Type.Optional(Type.Unknown({ description: "a custom layer's check report, when that check failed" })),
}, { [component]: 'JobError' });

export const InitialModelUse = Type.Object(
  {
    id: Type.String(),
    name: Type.Union([Type.String(), Type.Null()], { description: "the model's name (its job's), null when it has none" }),
    layersFromModel: Type.Array(Type.String(), { description: "the network's layers that start from the model's weights" }),
    layersNotFromModel: Type.Array(Type.Object({ layer: Type.String(), reason: Type.String({ description: "'not in the model', or how the sizes or types differ" }) }), {
      description: 'its other layers with learnables, initialised as usual',
    }),
  },
  { [component]: 'InitialModelUse', description: 'The model a job starts from (`initialModel`), as found when it was submitted.' },
);

export const Job = Type.Object({
  id: JobId,
  tenant: Type.String({ description: 'the tenant of the key that submitted it ("local" without keys)' }),
  name: Type.Union([Type.String(), Type.Null()]),
  status: JobStatus,
  createdAt: Type.String({ format: 'date-time' }),
  startedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  progress: Type.Union([Progress, Type.Null()], { description: 'the last progress record published' }),
  backend: Type.Union([Type.String(), Type.Null()]),
  workerId: Type.Union([Type.String(), Type.Null()]),
  modelId: Type.Union([Type.String(), Type.Null()]),
  metrics: Type.Union([Metrics, Type.Null()]),
  error: Type.Union([JobError, Type.Null()]),
  attempts: Type.Integer({ description: 'times a worker started it (more than 1 after a worker died or shut down)' }),
  cancelRequested: Type.Boolean(),
  pauseRequested: Type.Boolean({ description: 'a pause was asked while it ran: it checkpoints at the next iteration boundary and becomes paused' }),
  initialModel: Type.Union([InitialModelUse, Type.Null()], { description: 'the model it starts from; null: from scratch' }),
  links: Type.Object({
    self: Type.String(),
    events: Type.String(),
    model: Type.Optional(Type.String({ description: 'only once the job has completed: links lead only to what exists' })),
  }),
}, { [component]: 'Job' });

export const JobPage = Type.Object({
  jobs: Type.Array(Job),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as `cursor` for the next page; null on the last' }),
});

const eventId = { id: Type.String({ description: 'resume after this event with `?since=`' }) };

const SkippedCheckpoint = Type.Object(
  {
    iteration: Type.Integer({ minimum: 0, description: 'the iteration the checkpoint was taken after' }),
    reason: Type.String({ description: "what is wrong with it, e.g. 'its tensors are truncated: 1024 of their 90112 bytes' or 'its tensors do not match their checksum'" }),
  },
  { [component]: 'SkippedCheckpoint', description: 'A checkpoint passed over because it did not read whole (checked by its size and SHA-256).' },
);

/** One message on the events WebSocket. */
export const JobEvent = Type.Union(
  [
    Type.Object({ ...eventId, type: Type.Literal('status'), status: Type.Union([Type.Literal('queued'), Type.Literal('running')]) }),
    Type.Object(
      {
        ...eventId,
        type: Type.Literal('status'),
        status: Type.Literal('resumed'),
        iteration: Type.Integer({ minimum: 0, description: 'the checkpoint it resumed from: progress goes on with the next iteration; iterations up to the last reported before are not reported again' }),
        skippedCheckpoints: Type.Optional(Type.Array(SkippedCheckpoint, { minItems: 1, description: 'newer checkpoints that could not be read, newest first; absent when none was skipped' })),
      },
      { description: 'a job picked up again after its worker died (or was stopped), or resumed after a pause, resumes from its latest checkpoint that reads whole' },
    ),
    Type.Object(
      {
        ...eventId,
        type: Type.Literal('status'),
        status: Type.Literal('restarted'),
        skippedCheckpoints: Type.Array(SkippedCheckpoint, { minItems: 1, description: 'its checkpoints, none of which could be read, newest first' }),
      },
      { description: 'a job picked up again whose every checkpoint could not be read starts again from iteration 1 (its progress is reported anew)' },
    ),
    Type.Object(
      {
        ...eventId,
        type: Type.Literal('status'),
        status: Type.Literal('paused'),
        iteration: Type.Integer({ minimum: 0, description: 'its newest checkpoint: a resume goes on after this iteration (0: from the start)' }),
      },
      { description: 'paused by its user: it left its worker (the socket stays open; a resume goes on with `queued`, `running` and `resumed`)' },
    ),
    Type.Composite([Type.Object({ ...eventId, type: Type.Literal('progress') }), Progress]),
    Type.Object({ ...eventId, type: Type.Literal('completed'), modelId: Type.String(), metrics: Metrics }),
    Type.Object({ ...eventId, type: Type.Literal('failed'), error: JobError }),
    Type.Object({ ...eventId, type: Type.Literal('cancelled') }),
  ],
  { [component]: 'JobEvent', description: 'One message on the events WebSocket; `id` resumes with `?since=`.' },
);
