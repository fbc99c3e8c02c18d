import type { Validated } from './problems.js';
import { validateNetwork, type Network, type NetworkLimits } from './spec.js';
import { startModuleThread } from './thread.js';

/**
 * Networks of more layers than this are validated in a worker thread: a few hundred custom layers
 * take hundreds of ms to check, while small networks take a few ms, less than starting a thread.
 */
const layersValidatedOnTheLoop = 32;

/** Whether a network as sent (not yet validated) is big enough to be validated off the event loop. */
export function validatesOffTheLoop(input: unknown): boolean {
  const layers = (input as { layers?: unknown } | null)?.layers;
  return Array.isArray(layers) && layers.length > layersValidatedOnTheLoop;
}

/**
 * validateNetwork without holding the event loop: on the loop for a small network, in a thread of
 * its own (lowered in priority) for a big one. The validated network is plain data, so it crosses
 * threads whole.
 */
export function validateNetworkOffLoop(input: unknown, limits?: NetworkLimits): Promise<Validated<Network>> {
  if (!validatesOffTheLoop(input)) return Promise.resolve(validateNetwork(input, limits));
  const thread = startModuleThread(import.meta.url, 'validate-thread', { input, limits });
  return new Promise((resolve, reject) => {
    thread.once('message', (result: Validated<Network>) => {
      resolve(result);
      void thread.terminate();
    });
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`the validation thread exited with code ${code} before it answered`)));
  });
}
