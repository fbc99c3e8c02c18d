import type { LayerKind } from '../kind.js';

export interface ClassificationParams {
  /** Class names, or null to take the dataset's. */
  classes: string[] | null;
}

/** The output layer: class names, and the cross-entropy loss (computed in training, no tfjs layer). */
export const classification: LayerKind<'classification'> = {
  type: 'classification',
  namePrefix: 'classoutput',
  afterLogits: true,
  read(ctx) {
    const { f, input } = ctx;
    const raw = f.raw('classes');
    let classes: string[] | null = null;
    if (raw !== undefined) {
      const ok =
        Array.isArray(raw) &&
        raw.length >= 2 &&
        raw.every((c) => typeof c === 'string' && c.length > 0 && c.length <= 64) &&
        new Set(raw).size === raw.length;
      if (!ok) f.problem('classes', 'classes must be a list of at least 2 distinct names of 1 to 64 characters');
      else classes = raw as string[];
    }
    if (input && classes && classes.length !== input[2]) {
      f.problem('classes', `classes names ${classes.length} classes but its input has ${input[2]}`);
    }
    if (input && input[2] < 2) f.problem(null, `classification needs at least 2 classes, its input has ${input[2]}`);
    return { params: { classes }, output: input, learnables: 0 };
  },
  build: () => ({ tfLayers: [] }),
};
