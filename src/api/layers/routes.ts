import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { validateCheckRequest } from '../../nn/custom/check-request.js';
import { CheckOutOfMemoryError, checkInThread } from '../../nn/custom/check-runner.js';
import { HttpProblem, invalid } from '../problem.js';
import { CheckBody, CheckResponse } from '../schemas/layers.js';
import { authenticatedProblems, problemResponse, problemResponses } from '../schemas/problem.js';
import type { Services } from '../services.js';
import { CheckQueue } from './check-queue.js';

/** Everything the route declares, in one place: what it takes, what it answers and the document's words for both. */
const checkLayerSchema = {
  operationId: 'checkLayer',
  summary: "Check a custom layer, as MATLAB's checkLayer does.",
  description:
    'Runs the checks on a layer sent as data: its expressions parse and use known names; forward runs on one and on several observations; ' +
    "the output size and type are what the network assumes; the backward (given, or tfjs's autodiff) gives each gradient the size of its tensor; " +
    "gradients agree with central finite differences computed in float64 (the report gives the tolerance and each tensor's worst relative error); " +
    'a hand-written backward agrees with autodiff of the forward; outputs stay finite for inputs up to 1e4 in magnitude. A bad definition is a 400 ' +
    'naming the field and the column; a definition that parses gets 200 with the report, passing or failing.\n\n' +
    'The check runs in a worker thread of its own (its own tfjs and wasm heap, discarded after the check), one at a time per API process. ' +
    'Its work is bounded: a check that would spend more than LAYER_CHECK_MAX_OPERATIONS element-operations (values x expression nodes, over ' +
    'every evaluation) is not run, and a check still running after LAYER_CHECK_TIMEOUT_MS is stopped; either way the answer is 200 with the ' +
    'checks that finished, the others skipped, and a failing last entry `checkedFully` whose message starts "too expensive to check fully". ' +
    'A check that exhausts its thread\'s memory is a 422 problem; with LAYER_CHECK_QUEUE checks already waiting, a 429 problem.',
  body: CheckBody,
  response: {
    200: CheckResponse,
    ...problemResponses(400, 413, 415, ...authenticatedProblems),
    422: problemResponse(422, "The check ran out of memory in its thread (LAYER_CHECK_HEAP_MB, or the wasm heap's 4 GiB); the thread is discarded."),
    429: problemResponse(429, 'Too many requests (RATE_LIMIT_PER_MINUTE), or a check is running and LAYER_CHECK_QUEUE checks wait already.'),
  },
};

/**
 * POST /v1/layers/check: MATLAB checkLayer for a layer sent as data. The check runs in a thread of
 * its own, bounded in work (LAYER_CHECK_MAX_OPERATIONS) and time (LAYER_CHECK_TIMEOUT_MS), so the
 * API's event loop stays free; a check cut short answers 200 with the checks that finished and a
 * failing "checkedFully" entry. Checks run one at a time per API process (LAYER_CHECK_QUEUE wait).
 */
export const layerRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { backend, layerCheck } = services.config;
  const queue = new CheckQueue(layerCheck.queue);

  app.post('/v1/layers/check', { schema: checkLayerSchema, bodyLimit: services.config.limits.jobBodyBytes }, async (request) => {
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
