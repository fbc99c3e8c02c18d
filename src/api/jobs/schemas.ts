import { Type } from '@sinclair/typebox';
import { jobStatuses } from '../../queue/jobs.js';

/**
 * The shape of job requests. The network and options are only required to be objects here; their
 * contents are checked by the engine's own validators, which know every layer and option.
 */
export const JobId = Type.String({ description: 'a job id (26-character ULID)' });

export const DatasetRef = Type.Union([
  Type.String({ minLength: 1, maxLength: 64, description: 'a built-in dataset: "digits"' }),
  Type.Object(
    {
      id: Type.String({ minLength: 1, maxLength: 64 }),
      trainImages: Type.Optional(Type.Integer({ minimum: 1, description: 'train on the first N images of the training split' })),
    },
    { additionalProperties: false },
  ),
]);

export const CreateJobBody = Type.Object(
  {
    network: Type.Object({}, { additionalProperties: true, description: 'the network definition: {"layers": [...]}' }),
    dataset: DatasetRef,
    options: Type.Optional(Type.Object({}, { additionalProperties: true, description: "MATLAB trainingOptions names" })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

export const CreateJobHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

export const JobParams = Type.Object({ id: JobId }, { additionalProperties: false });

export const ListJobsQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(jobStatuses.map((s) => Type.Literal(s)))),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const EventsQuery = Type.Object({ since: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false });
