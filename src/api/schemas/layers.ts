import { Type } from '@sinclair/typebox';
import { component } from './component.js';

/** The shapes of POST /v1/layers/check. Only the envelope is a schema; the layer, its expressions and the sizes are checked by the engine with paths and columns. */
export const CheckBody = Type.Object(
  {
    layer: Type.Object({}, { additionalProperties: true, description: '{"type": "custom", "name", "learnables", "forward", "backward"?, "outputSize"?}; see the README' }),
    inputSize: Type.Unknown({ description: '[height, width, channels]' }),
    observations: Type.Optional(Type.Unknown({ description: 'observations in the batch the checks run on (1 to 16, default 2)' })),
  },
  {
    additionalProperties: false,
    examples: [
      {
        inputSize: [24, 24, 20],
        observations: 2,
        layer: {
          type: 'custom',
          name: 'myElu',
          learnables: { alpha: { shape: 'perChannel', initializer: 'rand' } },
          forward: 'x > 0 ? x : alpha * (exp(min(x, 0)) - 1)',
          backward: { x: 'dz * ((x > 0) + (alpha + z) * (x <= 0))', alpha: 'sum(dz * (exp(min(x, 0)) - 1), "spatial+batch")' },
        },
      },
    ],
  },
);

export const CheckResult = Type.Object({
  name: Type.String({
    description: 'the checks in this order; a report cut for cost or time ends with a failing checkedFully entry saying why',
    examples: ['definition', 'forwardOneObservation', 'forwardSeveralObservations', 'outputSize', 'outputDtype', 'backwardSizes', 'gradientsNumericallyCorrect', 'backwardMatchesAutodiff', 'finiteForLargeInputs', 'checkedFully'],
  }),
  status: Type.Union([Type.Literal('pass'), Type.Literal('fail'), Type.Literal('skip')]),
  message: Type.String(),
  details: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description: 'for the gradient checks: {tolerance, tensors: [{tensor, worstRelativeError, worstAt, entriesChecked, entries, skippedAtKinks}]}',
    }),
  ),
});

export const CheckReport = Type.Object({
  layer: Type.String(),
  inputSize: Type.Array(Type.Integer()),
  observations: Type.Integer(),
  gradients: Type.Union([Type.Literal('backward'), Type.Literal('autodiff'), Type.Null()], { description: "which gradient was checked: the user's backward or tfjs's autodiff; null when the definition is invalid" }),
  checks: Type.Array(CheckResult),
  summary: Type.Object({ ok: Type.Boolean(), passed: Type.Integer(), failed: Type.Integer(), skipped: Type.Integer(), text: Type.String() }),
}, { [component]: 'CheckReport' });

export const CheckResponse = Type.Object({ report: CheckReport }, { description: 'The report (its summary says whether every check passed).' });
