import { Type } from '@sinclair/typebox';

export const ModelParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

export const ModelFileParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 64 }), file: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

/** The JSON form of a predict request (at most `maxInstances` images); the PNG form is a raw image/png body. */
export function predictBody(maxInstances: number) {
  return {
    content: {
      'application/json': {
        schema: Type.Object(
          {
            instances: Type.Array(Type.Unknown(), {
              minItems: 1,
              maxItems: maxInstances,
              description: 'images: [h][w][c] or [h][w] nested arrays, or h*w*c numbers',
            }),
            scale: Type.Optional(
              Type.Number({ exclusiveMinimum: 0, description: 'every value is divided by it before the range check and the network (255 for 0-255 pixels)' }),
            ),
          },
          { additionalProperties: false },
        ),
      },
      'image/png': { schema: {} },
    },
  };
}
