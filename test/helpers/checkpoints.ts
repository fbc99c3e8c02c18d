import type { TrainingCheckpoint } from '../../src/nn/checkpoint.js';

/** A small made-up checkpoint after `iteration`: every field the store encodes, none of a real network. */
export function checkpointAt(iteration: number): TrainingCheckpoint {
  return {
    seed: 7,
    iteration,
    epoch: 1 + Math.floor(iteration / 4),
    iterationInEpoch: iteration % 4,
    trainingSeconds: iteration / 10,
    order: Int32Array.from([3, 1, 2, 0]),
    random: { shuffler: 11 * iteration, dropout: 12, augmenter: null },
    bestValidationLoss: iteration === 1 ? null : 0.5,
    validationsWithoutImprovement: 1,
    last: null,
    weights: [Float32Array.from([iteration, 2, 3]), Float32Array.from([4])],
    solver: { steps: iteration, first: [Float32Array.from([0.1, 0.2, 0.3]), null], second: [null, null] },
  };
}
