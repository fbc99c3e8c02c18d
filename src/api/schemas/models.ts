import { Type } from '@sinclair/typebox';
import { component } from './component.js';
import { Metrics } from './jobs.js';

/** The shapes of models and predictions as the API sends and takes them. */
export const ModelId = Type.String({ minLength: 1, maxLength: 64 });

export const ModelParams = Type.Object({ id: ModelId }, { additionalProperties: false });

export const ModelFileParams = Type.Object(
  { id: ModelId, file: Type.String({ minLength: 1, maxLength: 64, description: 'model.json or weights.bin', examples: ['model.json'] }) },
  { additionalProperties: false },
);

/** Typed as a tuple, written as a plain array of three (OpenAPI 3.1 readers know `minItems`, not every one knows `prefixItems`). */
const Size3 = Type.Unsafe<[number, number, number]>(Type.Array(Type.Integer(), { minItems: 3, maxItems: 3, description: '[height, width, channels]' }));

export const InputStatistics = Type.Object(
  {
    min: Type.Number(),
    max: Type.Number(),
    imageMean: Type.Object({
      mean: Type.Number({ description: "average of each image's mean brightness" }),
      std: Type.Number({ description: 'their standard deviation' }),
    }),
    background: Type.Number({ description: 'mean of the border pixels' }),
    polarity: Type.Union([Type.Literal('light-on-dark'), Type.Literal('dark-on-light')]),
  },
  { [component]: 'InputStatistics', description: 'The training images before normalisation, all channels together.' },
);

export const Normalization = Type.Object({
  type: Type.Union([Type.Literal('zerocenter'), Type.Literal('zscore'), Type.Literal('rescale-zero-one'), Type.Literal('none')]),
  offsetShape: Type.Union([Size3, Type.Null()]),
});

export const Training = Type.Object(
  {
    options: Type.Record(Type.String(), Type.Unknown(), { description: 'the training options, with the seed used' }),
    dataset: Type.String(),
    trainImages: Type.Integer(),
    backend: Type.Object({ name: Type.String(), package: Type.String(), device: Type.String(), reason: Type.String({ description: 'why this backend was chosen' }) }),
    stopReason: Type.String(),
    iterations: Type.Integer(),
    epochs: Type.Integer(),
    trainingSeconds: Type.Number(),
    finalizeSeconds: Type.Number(),
    seed: Type.Integer(),
  },
  { description: 'How it was trained: options (with the seed used), dataset, backend, stop reason, iterations, timings.' },
);

const Ratio = (description: string) => Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], { description });

export const ModelEvaluation = Type.Object(
  {
    split: Type.Literal('test'),
    count: Type.Integer({ description: 'test images evaluated' }),
    confusionMatrix: Type.Array(Type.Array(Type.Integer()), { description: 'rows are true classes, columns predicted ones, in the order of `classes`' }),
    precision: Type.Array(Ratio('of the images predicted as the class, the fraction that are; null when none were'), { description: 'per class (column summary)' }),
    recall: Type.Array(Ratio('of the class\'s images, the fraction predicted as it; null when it has none'), { description: 'per class (row summary)' }),
    misclassified: Type.Object(
      {
        sprite: Type.Union([Type.String(), Type.Null()], { description: 'the images are served at `links.misclassified` (null: none to show)' }),
        tileSize: Type.Unsafe<[number, number]>(Type.Array(Type.Integer(), { minItems: 2, maxItems: 2, description: '[height, width] of each image in the sprite' })),
        examples: Type.Array(
          Type.Object({
            index: Type.Integer({ description: 'position in the test split' }),
            trueClass: Type.String(),
            predictedClass: Type.String(),
            probability: Type.Number({ description: 'of the predicted class' }),
            x: Type.Integer({ description: "left of the image's tile in the sprite" }),
            y: Type.Integer({ description: "top of the image's tile in the sprite" }),
          }),
        ),
      },
      { description: 'Up to 3 misclassified test images per true class, one row of tiles per class in one PNG.' },
    ),
  },
  { [component]: 'ModelEvaluation', description: "The test split at the end of training, as MATLAB's confusionchart shows it." },
);

export const Lineage = Type.Object(
  {
    initialModel: Type.Union([Type.Object({ id: Type.String(), name: Type.Optional(Type.String()) }), Type.Null()], {
      description: 'the model it started from (`initialModel` of its job); null: from scratch',
    }),
    layersFromModel: Type.Array(Type.String(), { description: "its layers that started from that model's weights" }),
    layersNotFromModel: Type.Array(Type.Object({ layer: Type.String(), reason: Type.String() }), { description: 'its other layers with learnables, and why they did not' }),
    dataset: Type.Object({ id: Type.String(), name: Type.String() }, { description: 'the dataset it was trained on' }),
    resumedCount: Type.Integer({ minimum: 0, description: 'times its run resumed from a checkpoint (a worker died or was stopped, or the job was paused)' }),
  },
  { [component]: 'Lineage', description: 'Where its weights came from; absent for models saved before it was recorded.' },
);

/** What a model and its summary share. */
const modelFields = {
  id: ModelId,
  name: Type.Optional(Type.String({ description: "its job's name" })),
  createdAt: Type.String({ format: 'date-time' }),
  classes: Type.Array(Type.String()),
  inputSize: Size3,
  normalization: Normalization,
  inputStatistics: Type.Optional(InputStatistics),
  dataset: Type.Optional(
    Type.Object(
      {
        id: Type.String(),
        name: Type.String(),
        sizeMode: Type.Union([Type.Literal('resize'), Type.Literal('centercrop')], { description: "how the dataset's images were brought to inputSize; predict converts images the same way" }),
      },
      { description: 'The dataset it was trained on (the model stays usable when the dataset is deleted); absent for models saved before it was recorded.' },
    ),
  ),
  metrics: Metrics,
  lineage: Type.Optional(Lineage),
  jobId: Type.Optional(Type.String({ description: 'the job that trained it' })),
  tenant: Type.Optional(Type.String()),
  files: Type.Array(Type.String()),
};

export const Model = Type.Object({
  ...modelFields,
  network: Type.Unknown({ description: 'the network as submitted' }),
  training: Training,
  evaluation: Type.Optional(ModelEvaluation),
  links: Type.Object({
    self: Type.String(),
    predict: Type.String(),
    files: Type.Record(Type.String(), Type.String(), { description: 'each file by name' }),
    job: Type.Optional(Type.String()),
    misclassified: Type.Optional(Type.String({ description: 'the PNG sprite of misclassified test images, when there is one' })),
    initialModel: Type.Optional(Type.String({ description: 'the model it started from (it may have been deleted since)' })),
  }),
}, { [component]: 'Model' });

export const ModelSummary = Type.Object({
  ...modelFields,
  backend: Type.String({ description: 'the backend it was trained on' }),
  links: Type.Object({ self: Type.String() }),
}, { [component]: 'ModelSummary' });

export const ModelList = Type.Object({ models: Type.Array(ModelSummary) });

/** One 28x28 image of a vertical stroke (a "1"), the documented predict example. */
function strokeImage(): number[][] {
  const stroke = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 1, 1, 0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  return Array.from({ length: 28 }, (_, row) => (row >= 6 && row < 22 ? [...stroke] : new Array<number>(28).fill(0)));
}

/** The JSON form of a predict request (at most `maxInstances` images); an image is a raw image/png or image/jpeg body. */
export function predictBody(maxInstances: number) {
  return {
    content: {
      'application/json': {
        schema: Type.Object(
          {
            instances: Type.Array(Type.Unknown(), {
              minItems: 1,
              maxItems: maxInstances,
              description: `At most MAX_PREDICT_INSTANCES (here ${maxInstances}) images: [h][w][c] or [h][w] nested arrays, or h*w*c numbers`,
            }),
            scale: Type.Optional(
              Type.Number({ exclusiveMinimum: 0, description: 'every value is divided by it before the range check and the network (255 for 0-255 pixels)' }),
            ),
          },
          { additionalProperties: false, examples: [{ instances: [strokeImage()] }] },
        ),
      },
      // Any bytes as far as validation goes (the body is a Buffer); the decoder checks the image's header and size.
      'image/png': { schema: Type.Unknown({ description: "one PNG image of any size, converted to the model's input size and channels as its dataset's images were" }) },
      'image/jpeg': { schema: Type.Unknown({ description: "one JPEG image of any size, converted to the model's input size and channels as its dataset's images were" }) },
    },
  };
}

export const Predictions = Type.Object({
  modelId: ModelId,
  input: Type.Object(
    {
      from: Type.Union([Type.Literal('json'), Type.Literal('png'), Type.Literal('jpeg')]),
      original: Type.Optional(Type.Object({ width: Type.Integer(), height: Type.Integer() }, { description: 'an image body: its size as sent, before it was converted to height x width' })),
      height: Type.Integer(),
      width: Type.Integer(),
      channels: Type.Integer(),
      scale: Type.Number({ description: 'what every JSON value was divided by (1 for PNG and when no scale was sent)' }),
      min: Type.Number({ description: 'lowest value fed to the network' }),
      max: Type.Number({ description: 'highest value fed to the network' }),
      training: Type.Union([InputStatistics, Type.Null()], { description: "the model's inputStatistics; null for models saved before they were recorded" }),
    },
    { description: "What the network was fed, after decoding and scaling, and the training images' statistics to compare with." },
  ),
  predictions: Type.Array(
    Type.Object({
      label: Type.String(),
      probabilities: Type.Record(Type.String(), Type.Number()),
      warnings: Type.Array(Type.String(), {
        description: 'why this image looks unlike the training images (empty when it does not, or the model has no statistics)',
      }),
    }),
  ),
}, { [component]: 'Predictions' });
