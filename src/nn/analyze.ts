import type { Validated } from './problems.js';
import type { NetworkLimits, Size3 } from './spec.js';
import { validateNetworkOffLoop } from './validate-off-loop.js';

/** MATLAB's analyzeNetwork as data: each layer's inputs, output size and learnables, and the totals. */
export interface NetworkAnalysis {
  layers: { name: string; type: string; inputs: string[]; outputSize: Size3; learnables: number }[];
  inputSize: Size3;
  numClasses: number;
  learnables: number;
}

/** Validates a network (off the event loop when it is big) and, when it is valid, describes it. */
export async function analyzeNetwork(input: unknown, limits: NetworkLimits): Promise<Validated<NetworkAnalysis>> {
  const validated = await validateNetworkOffLoop(input, limits);
  if (!validated.ok) return validated;
  const { layers, inputSize, numClasses, learnables } = validated.value;
  return {
    ok: true,
    value: { layers: layers.map(({ name, type, inputs, outputSize, learnables: own }) => ({ name, type, inputs, outputSize, learnables: own })), inputSize, numClasses, learnables },
  };
}
