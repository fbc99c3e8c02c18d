import { startModuleThread } from './thread.js';
import type { Validated } from './problems.js';
import { validateNetwork, type NetworkLimits, type Size3 } from './spec.js';

/** MATLAB's analyzeNetwork as data: each layer's inputs, output size and learnables, and the totals. */
export interface NetworkAnalysis {
  layers: { name: string; type: string; inputs: string[]; outputSize: Size3; learnables: number }[];
  inputSize: Size3;
  numClasses: number;
  learnables: number;
}

/** Validates a network and, when it is valid, describes it; plain data, so it crosses threads. */
export function analyzeNetwork(input: unknown, limits: NetworkLimits): Validated<NetworkAnalysis> {
  const validated = validateNetwork(input, limits);
  if (!validated.ok) return validated;
  const { layers, inputSize, numClasses, learnables } = validated.value;
  return {
    ok: true,
    value: { layers: layers.map(({ name, type, inputs, outputSize, learnables: own }) => ({ name, type, inputs, outputSize, learnables: own })), inputSize, numClasses, learnables },
  };
}

/** analyzeNetwork in a worker thread of its own: a network of hundreds of custom layers takes hundreds of ms to check. */
export function analyzeNetworkInThread(input: unknown, limits: NetworkLimits): Promise<Validated<NetworkAnalysis>> {
  const thread = startModuleThread(import.meta.url, 'analyze-thread', { input, limits });
  return new Promise((resolve, reject) => {
    thread.once('message', (result: Validated<NetworkAnalysis>) => {
      resolve(result);
      void thread.terminate();
    });
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`the analysis thread exited with code ${code} before it answered`)));
  });
}
