import { UserProblem } from './problems.js';

/**
 * Training whose mini-batch loss stopped being a number (NaN or Infinity). As in MATLAB's
 * trainNetwork ("Training loss is NaN") training stops at once: every later update is NaN too.
 * Unlike MATLAB no network is returned, since a model of NaN weights predicts nothing; the job
 * fails with a sentence that says what to change.
 */
export class TrainingDivergedError extends UserProblem {
  constructor(readonly iteration: number, readonly epoch: number, loss: number) {
    super({
      title: 'Training diverged',
      detail:
        `the mini-batch loss became ${loss} at iteration ${iteration} (epoch ${epoch}), so training stopped and no model was kept: ` +
        'lower options.initialLearnRate, add a batchNormalization layer, or set options.gradientThreshold',
    });
    this.name = 'TrainingDivergedError';
  }
}
