import type { Size3 } from '../spec.js';
import type { Axis } from './language.js';

/**
 * The shape of a value in a layer expression: [observations, height, width, channels], where the
 * observation count is 'N' (whatever the mini-batch holds) or 1 for values that do not vary by
 * observation (learnables, numbers, sums over the batch).
 *
 * Every extent is either 1 or the layer input's extent on that axis: x has the input's, learnables
 * are checked to fit it, numbers are all 1 and reductions set axes to 1. So any two values
 * broadcast against each other, and the broadcast extent is the larger one.
 */
export type Shape = readonly ['N' | 1, number, number, number];

export function inputShape(size: Size3): Shape {
  return ['N', size[0], size[1], size[2]];
}

export const unitShape: Shape = [1, 1, 1, 1];

export function broadcastShapes(shapes: readonly Shape[]): Shape {
  return shapes.reduce<Shape>(
    (a, b) => [a[0] === 'N' || b[0] === 'N' ? 'N' : 1, Math.max(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])],
    unitShape,
  );
}

export function reduceShape(shape: Shape, axes: readonly Axis[]): Shape {
  return shape.map((extent, axis) => (axes.includes(axis as Axis) ? 1 : extent)) as unknown as Shape;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.every((extent, axis) => extent === b[axis]);
}

/** Axes on which `shape` is larger than `target`: what a sum must reduce to turn one into the other. */
export function extraAxes(shape: Shape, target: Shape): Axis[] {
  return ([0, 1, 2, 3] as const).filter((axis) => shape[axis] !== target[axis] && target[axis] === 1);
}

export function showShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}
