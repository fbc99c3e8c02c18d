import { Type } from '@sinclair/typebox';
import { component } from './component.js';

/**
 * The shapes of uploaded datasets as the API takes and sends them. The queue's own types
 * (src/queue/dataset-records.ts) must stay assignable to these: the routes' typed replies make the
 * compiler check it.
 */
export const DatasetStatus = Type.Union([Type.Literal('ingesting'), Type.Literal('ready'), Type.Literal('failed')]);

export const DatasetId = Type.String({ description: 'a dataset id (26-character ULID)' });

export const DatasetParams = Type.Object({ id: DatasetId }, { additionalProperties: false });

/** `h,w`: two whole numbers, each 1 to 99999 (MAX_IMAGE_SIDE is checked after). */
export const imageSizePattern = '^[1-9][0-9]{0,4},[1-9][0-9]{0,4}$';

export const CreateDatasetQuery = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "the dataset's name (default: the uploaded file's name, or its id)" })),
    imageSize: Type.Optional(Type.String({ pattern: imageSizePattern, description: 'height,width every image is converted to (default: the most common size among the images)', examples: ['28,28'] })),
    channels: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(3)], { description: '1 (grey) or 3 (colour) (default: the most common among the images)' })),
    sizeMode: Type.Optional(Type.Union([Type.Literal('resize'), Type.Literal('centercrop')], { description: 'how an image of another size is fitted: resized, or resized to cover and cropped at the centre (default resize)' })),
    testFraction: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'share of each class drawn into the test split when the archive names none (default 0.2)' })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295, description: 'seed of the drawn test split and of the order within shards (default: a fresh one, recorded)' })),
  },
  { additionalProperties: false },
);

export const ListDatasetsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'The `nextCursor` of the previous page.' })),
  },
  { additionalProperties: false },
);

export const DatasetProgress = Type.Object({
  read: Type.Integer({ description: 'images converted so far' }),
  total: Type.Integer({ description: 'images to convert' }),
}, { [component]: 'DatasetProgress' });

const SplitCounts = Type.Object({
  count: Type.Integer(),
  perClass: Type.Array(Type.Integer(), { description: 'images of each class, in the order of `classes`' }),
});

export const DatasetDescription = Type.Object(
  {
    layout: Type.Union([Type.Literal('folders'), Type.Literal('split-folders'), Type.Literal('labels-csv'), Type.Literal('idx'), Type.Literal('built-in')], { description: "how the archive named its labels and splits ('built-in': the digits, written from the mnist package)" }),
    classes: Type.Array(Type.String()),
    size: Type.Array(Type.Integer(), { minItems: 3, maxItems: 3, description: 'height, width, channels (1 or 3) of every stored image' }),
    sizeMode: Type.Union([Type.Literal('resize'), Type.Literal('centercrop')]),
    sizeFrom: Type.Union([Type.Literal('options'), Type.Literal('most common')], { description: 'whether the size was asked for or the most common among the images' }),
    splits: Type.Record(Type.String(), SplitCounts, { description: 'train, test and (when the archive had one) validation' }),
    testSplit: Type.Union([
      Type.Object({ drawn: Type.Literal(false) }, { description: 'the archive named its test split' }),
      Type.Object({ drawn: Type.Literal(true), testFraction: Type.Number(), seed: Type.Integer() }, { description: 'drawn per class with this fraction and seed' }),
    ]),
    bytes: Type.Integer({ description: 'stored bytes (uint8 shards)' }),
    skipped: Type.Array(
      Type.Object({ reason: Type.String(), count: Type.Integer(), examples: Type.Array(Type.String(), { description: 'the first few file names' }) }),
      { description: 'what was left out of the archive, and why' },
    ),
    emptyClasses: Type.Array(Type.String(), { description: 'class folders that held no image' }),
  },
  { [component]: 'DatasetDescription' },
);

export const Dataset = Type.Object(
  {
    id: DatasetId,
    tenant: Type.String({ description: 'the tenant of the key that uploaded it ("local" without keys)' }),
    name: Type.String(),
    status: DatasetStatus,
    createdAt: Type.String({ format: 'date-time' }),
    finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    uploadBytes: Type.Integer({ description: "the uploaded archive's size" }),
    bytes: Type.Integer({ description: "counted against TENANT_MAX_DATASET_BYTES: the archive's size while it ingests, the stored shards' once ready, 0 once failed" }),
    progress: Type.Union([DatasetProgress, Type.Null()], { description: 'the last progress of ingestion' }),
    error: Type.Union([Type.String(), Type.Null()], { description: 'why it failed, in a sentence' }),
    description: Type.Union([DatasetDescription, Type.Null()], { description: 'once ready: what it holds' }),
    attempts: Type.Integer({ description: 'times a worker started ingesting it (more than 1 after a worker died)' }),
    links: Type.Object({ self: Type.String(), events: Type.String(), samples: Type.Optional(Type.String({ description: 'once ready: a few images of each class (PNG)' })) }),
  },
  { [component]: 'Dataset' },
);

export const DatasetPage = Type.Object({
  datasets: Type.Array(Dataset),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'pass as `cursor` for the next page; null on the last' }),
});

const eventId = { id: Type.String({ description: 'resume after this event with `?since=`' }) };

export const DatasetEvent = Type.Union(
  [
    Type.Object({ ...eventId, type: Type.Literal('status'), status: Type.Literal('ingesting') }),
    Type.Composite([Type.Object({ ...eventId, type: Type.Literal('progress') }), DatasetProgress]),
    Type.Object({ ...eventId, type: Type.Literal('ready'), bytes: Type.Integer() }),
    Type.Object({ ...eventId, type: Type.Literal('failed'), error: Type.String() }),
  ],
  { [component]: 'DatasetEvent', description: "One message on a dataset's events WebSocket; `id` resumes with `?since=`." },
);
