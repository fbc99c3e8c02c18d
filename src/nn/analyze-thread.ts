import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeNetwork } from './analyze.js';
import type { NetworkLimits } from './spec.js';

/** The body of an analysis thread (started by analyzeNetworkInThread), lowered in priority so the API's event loop gets the core first. */
setPriority(10);
const { input, limits } = workerData as { input: unknown; limits: NetworkLimits };
parentPort!.postMessage(analyzeNetwork(input, limits));
