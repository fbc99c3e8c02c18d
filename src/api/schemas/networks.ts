import { Type } from '@sinclair/typebox';

/** The shapes of POST /v1/networks/analyze. The network itself is checked by the engine, with JSON paths. */
export const AnalyzeBody = Type.Object(
  { network: Type.Object({}, { additionalProperties: true, description: '`{"layers": [...], "connections"?: [...]}`; see the README' }) },
  {
    additionalProperties: false,
    examples: [
      {
        network: {
          layers: [
            { type: 'imageInput', inputSize: [28, 28, 1] },
            { type: 'convolution2d', name: 'conv_1', filterSize: 3, numFilters: 8, padding: 'same' },
            { type: 'relu', name: 'relu_1' },
            { type: 'convolution2d', name: 'conv_2', filterSize: 3, numFilters: 8, padding: 'same' },
            { type: 'addition', name: 'add_1' },
            { type: 'fullyConnected', outputSize: 10 },
            { type: 'softmax' },
            { type: 'classification' },
          ],
          connections: [{ from: 'relu_1', to: 'add_1/in2' }],
        },
      },
    ],
  },
);

const Size = Type.Array(Type.Integer(), { description: '[height, width, channels] of one observation' });

export const AnalyzeResponse = Type.Object(
  {
    layers: Type.Array(
      Type.Object({
        name: Type.String(),
        type: Type.String(),
        inputs: Type.Array(Type.String(), { description: 'the layers feeding it, in1 first' }),
        outputSize: Size,
        learnables: Type.Integer(),
      }),
      { description: 'in the order the network lists them' },
    ),
    inputSize: Size,
    numClasses: Type.Integer(),
    learnables: Type.Integer({ description: 'learnable values in the whole network' }),
  },
  { description: "Each layer's output size and learnable count, as MATLAB's analyzeNetwork." },
);
