import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { validateCheckRequest } from '../../nn/custom/check-request.js';
import { checkCustomLayerSpec } from '../../nn/custom/check.js';
import { invalid } from '../problem.js';
import { CheckBody, CheckResponse } from '../schemas/layers.js';
import { authenticatedProblems, problemResponses } from '../schemas/problem.js';
import type { Services } from '../services.js';

/** Everything the route declares, in one place: what it takes, what it answers and the document's words for both. */
const checkLayerSchema = {
  operationId: 'checkLayer',
  summary: "Check a custom layer, as MATLAB's checkLayer does.",
  description:
    'Runs the checks on a layer sent as data: its expressions parse and use known names; forward runs on one and on several observations; ' +
    "the output size and type are what the network assumes; the backward (given, or tfjs's autodiff) gives each gradient the size of its tensor; " +
    "gradients agree with central finite differences computed in float64 (the report gives the tolerance and each tensor's worst relative error); " +
    'a hand-written backward agrees with autodiff of the forward; outputs stay finite for inputs up to 1e4 in magnitude. A bad definition is a 400 ' +
    'naming the field and the column; a definition that parses gets 200 with the report, passing or failing.',
  body: CheckBody,
  response: { 200: CheckResponse, ...problemResponses(400, 413, 415, ...authenticatedProblems) },
};

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

  app.post('/v1/layers/check', { schema: checkLayerSchema, bodyLimit: services.config.limits.jobBodyBytes }, async (request) => {
    const checked = validateCheckRequest(request.body);
    if (!checked.ok) throw invalid(`the check request has ${checked.problems.length} problem${checked.problems.length > 1 ? 's' : ''}`, checked.problems);
    const report = await oneAtATime(() => checkCustomLayerSpec(checked.value.layer, { observations: checked.value.observations }));
    request.log.info({ layer: report.layer, ok: report.summary.ok }, 'layer checked');
    return { report };
  });
};
