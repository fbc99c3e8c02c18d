import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { validateTrainingRequest, type TrainingRequestThreadInput } from './training-request.js';

/**
 * The body of a validation thread (started by trainingRequestProblemsInThread): one request's
 * validateTrainingRequest, answered with its problems (plain data; the validated network holds
 * compiled layers, which cannot cross threads and the caller does not need).
 */
// On a busy machine the API's event loop should get the core first; Linux keeps a nice value per
// thread, so this lowers this thread only (as layer-check threads do).
setPriority(10);
const { request, data, config } = workerData as TrainingRequestThreadInput;
const validated = validateTrainingRequest(request, data, config);
parentPort!.postMessage(validated.ok ? [] : validated.problems);
