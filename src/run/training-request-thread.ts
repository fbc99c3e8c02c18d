import { parentPort, workerData } from 'node:worker_threads';
import { validateTrainingRequest, type TrainingRequestThreadInput } from './training-request.js';

/**
 * The body of a validation thread (started by trainingRequestProblemsInThread): one request's
 * validateTrainingRequest, answered with its problems (plain data; the validated network holds
 * compiled layers, which cannot cross threads and the caller does not need).
 */
const { request, data, config } = workerData as TrainingRequestThreadInput;
const validated = validateTrainingRequest(request, data, config);
parentPort!.postMessage(validated.ok ? [] : validated.problems);
