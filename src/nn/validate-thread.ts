import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { validateNetwork, type NetworkLimits } from './spec.js';

/** The body of a validation thread (started by validateNetworkOffLoop), lowered in priority so the API's event loop gets the core first. */
setPriority(10);
const { input, limits } = workerData as { input: unknown; limits: NetworkLimits | undefined };
parentPort!.postMessage(validateNetwork(input, limits));
