import { Fields } from './fields.js';
import { describe, isPlainObject, type Problem } from './problems.js';

/**
 * The subset of MATLAB's `imageDataAugmenter` a training run may ask for, under
 * `options.augmentation`. Each training image gets one random transform: reflections with
 * probability 1/2, and a rotation (degrees; positive turns counter-clockwise as the image is
 * shown), a scale and translations (pixels) drawn uniformly from their [min, max].
 */
export interface AugmentationOptions {
  randXReflection: boolean;
  randYReflection: boolean;
  randRotation: [number, number];
  randScale: [number, number];
  randXTranslation: [number, number];
  randYTranslation: [number, number];
}

export const augmentationFields = ['randXReflection', 'randYReflection', 'randRotation', 'randScale', 'randXTranslation', 'randYTranslation'] as const;

/**
 * `options.augmentation`: absent or null (no augmentation, the default), or an object of the
 * fields above, each defaulting to MATLAB's (no reflection, [0, 0], scale [1, 1]). Problems carry
 * their JSON path (options.augmentation.randScale).
 */
export function readAugmentation(input: unknown, path: string, problems: Problem[]): AugmentationOptions | null | undefined {
  if (input === undefined || input === null) return null;
  if (!isPlainObject(input)) {
    problems.push({ path, message: `options: augmentation must be an object of ${augmentationFields.join(', ')} or null, not ${describe(input)}` });
    return undefined;
  }
  const f = new Fields(input, path, 'options.augmentation', problems);
  const value = {
    randXReflection: f.bool('randXReflection', false),
    randYReflection: f.bool('randYReflection', false),
    randRotation: f.range('randRotation', { default: [0, 0] }),
    randScale: f.range('randScale', { default: [1, 1], min: 0, exclusiveMin: true }),
    randXTranslation: f.range('randXTranslation', { default: [0, 0] }),
    randYTranslation: f.range('randYTranslation', { default: [0, 0] }),
  };
  f.rejectUnknown();
  return Object.values(value).some((v) => v === undefined) ? undefined : (value as AugmentationOptions);
}
