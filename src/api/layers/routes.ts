import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { validateCheckRequest } from '../../nn/custom/check-request.js';
import { checkCustomLayerSpec, type CheckReport } from '../../nn/custom/check.js';
import { invalid } from '../problem.js';
import type { Services } from '../services.js';

/** Only the envelope is a schema; the layer, its expressions and the sizes are checked by the engine with paths and columns. */
const CheckBody = Type.Object(
  {
    layer: Type.Object({}, { additionalProperties: true, description: 'a custom layer {"type": "custom", ...}' }),
    inputSize: Type.Unknown({ description: '[height, width, channels]' }),
    observations: Type.Optional(Type.Unknown({ description: 'observations in the batch the checks run on (default 2)' })),
  },
  { additionalProperties: false },
);

/**
 * POST /v1/layers/check: MATLAB checkLayer for a layer sent as data. The checks take a fraction of
 * a second of CPU each; they run one at a time per API process, so a burst of checks cannot starve
 * the other requests (and the rate limit bounds a tenant's share).
 */
export const layerRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  let previous: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const run = previous.then(work, work);
    previous = run.catch(() => {});
    return run;
  };

  app.post('/v1/layers/check', { schema: { body: CheckBody }, bodyLimit: services.config.limits.jobBodyBytes }, async (request): Promise<{ report: CheckReport }> => {
    const checked = validateCheckRequest(request.body);
    if (!checked.ok) throw invalid(`the check request has ${checked.problems.length} problem${checked.problems.length > 1 ? 's' : ''}`, checked.problems);
    const report = await oneAtATime(() => checkCustomLayerSpec(checked.value.layer, { observations: checked.value.observations }));
    request.log.info({ layer: report.layer, ok: report.summary.ok }, 'layer checked');
    return { report };
  });
};
