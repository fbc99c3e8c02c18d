import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { CheckReport } from '../../nn/custom/check.js';
import { validateCheckRequest } from '../../nn/custom/check-request.js';
import { CheckOutOfMemoryError, checkInThread } from '../../nn/custom/check-runner.js';
import { HttpProblem, invalid } from '../problem.js';
import type { Services } from '../services.js';
import { CheckQueue } from './check-queue.js';

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
 * POST /v1/layers/check: MATLAB checkLayer for a layer sent as data. The check runs in a thread of
 * its own, bounded in work (LAYER_CHECK_MAX_OPERATIONS) and time (LAYER_CHECK_TIMEOUT_MS), so the
 * API's event loop stays free; a check cut short answers 200 with the checks that finished and a
 * failing "checkedFully" entry. Checks run one at a time per API process (LAYER_CHECK_QUEUE wait).
 */
export const layerRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { backend, layerCheck } = services.config;
  const queue = new CheckQueue(layerCheck.queue);

  app.post('/v1/layers/check', { schema: { body: CheckBody }, bodyLimit: services.config.limits.jobBodyBytes }, async (request): Promise<{ report: CheckReport }> => {
    const checked = validateCheckRequest(request.body);
    if (!checked.ok) throw invalid(`the check request has ${checked.problems.length} problem${checked.problems.length > 1 ? 's' : ''}`, checked.problems);
    const { layer, observations } = checked.value;
    try {
      const report = await queue.run(() => checkInThread(layer, { observations, backend, ...layerCheck }));
      request.log.info({ layer: report.layer, ok: report.summary.ok }, 'layer checked');
      return { report };
    } catch (err) {
      if (err instanceof CheckOutOfMemoryError) throw new HttpProblem(422, 'layer-check-out-of-memory', 'Layer check ran out of memory', err.message);
      throw err;
    }
  });
};
