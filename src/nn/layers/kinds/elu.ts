import type { AlphaInitializer } from '../../spec.js';
import { Elu } from '../elu.js';
import type { LayerKind } from '../kind.js';
import { readChannels } from '../window.js';

export interface EluParams {
  alpha: number;
  learnable: boolean;
  perChannel: boolean;
  alphaInitializer: AlphaInitializer;
}

/** The seed's ELU, its alpha learned per channel by default (see ../elu.ts). */
export const elu: LayerKind<'elu'> = {
  type: 'elu',
  namePrefix: 'elu',
  read(ctx) {
    const { f } = ctx;
    const alpha = f.number('alpha', { default: 1, min: 0 });
    const learnable = f.bool('learnable', true);
    const perChannel = f.bool('perChannel', true);
    let alphaInitializer: AlphaInitializer | undefined = 'rand';
    const rawInit = f.raw('alphaInitializer');
    if (typeof rawInit === 'number' && Number.isFinite(rawInit)) alphaInitializer = rawInit;
    else if (rawInit !== undefined) alphaInitializer = f.oneOf('alphaInitializer', ['rand', 'zeros', 'ones'] as const);
    if (learnable === false && rawInit !== undefined) {
      f.problem('alphaInitializer', 'alphaInitializer only applies to a learnable alpha; set alpha for a fixed one');
    }
    readChannels(ctx);
    if (alpha === undefined || learnable === undefined || perChannel === undefined || alphaInitializer === undefined) return null;
    const learnables = learnable && ctx.input ? (perChannel ? ctx.input[2] : 1) : 0;
    return { params: { alpha, learnable, perChannel, alphaInitializer }, output: ctx.input, learnables };
  },
  learnables: (spec) => (spec.learnable ? [{ name: 'alpha', weight: 'alpha', shape: spec.perChannel ? [spec.inputSize[2]] : [1] }] : []),
  build: (spec, seed) => ({
    tfLayers: [
      new Elu({
        name: spec.name,
        alpha: spec.alpha,
        learnable: spec.learnable,
        perChannel: spec.perChannel,
        alphaInitializer: spec.alphaInitializer,
        seed: seed(0),
      }),
    ],
  }),
};
