import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { train } from '../../src/nn/train.js';
import { backendMemory, type WasmBackendInternals } from '../../src/nn/wasm/heap.js';
import { digits, network, options } from './data.js';

/** Every wasm training kernel: pooling gradients, strided, padded and dilated convolution gradients. */
export const everyWasmKernelNetworkJson = {
  layers: [
    { type: 'imageInput', inputSize: [28, 28, 1] },
    { type: 'convolution2d', filterSize: 3, numFilters: 4, padding: 'same' },
    // The input gradient's three ways: the spread dy's convolution here, its phases next, real products below.
    { type: 'convolution2d', filterSize: 3, numFilters: 4, padding: 'same' },
    { type: 'convolution2d', filterSize: 3, numFilters: 6, stride: 2, padding: 'same' },
    { type: 'maxPooling2d', poolSize: 2 },
    { type: 'convolution2d', filterSize: 3, numFilters: 6, dilationFactor: 2, padding: 'same' },
    { type: 'averagePooling2d', poolSize: 3, stride: 2, padding: 1 },
    { type: 'convolution2d', filterSize: 3, numFilters: 8, stride: 2, padding: 'same' },
    { type: 'fullyConnected', outputSize: 10 },
    { type: 'softmax' },
    { type: 'classification' },
  ],
};

/**
 * Trains `json` (the seed when undefined) once to warm up, then 10 times, expecting tfjs's tensors
 * back to the baseline after every job and the wasm heap never grown past its size after the first.
 */
export async function expectFlatMemoryOverTenJobs(json: unknown): Promise<void> {
  const data = await digits(256);
  const job = async () => (await train(network(json), { source: data.source }, options({ miniBatchSize: 32, maxEpochs: 1, seed: 42 }))).classifier.dispose();
  await job(); // tfjs caches a few constants on first use, and the wasm heap grows to its working size
  const baseline = tf.memory();
  const heap = () => backendMemory(tf.backend() as unknown as WasmBackendInternals).buffer.byteLength;
  const heapAfterFirst = heap();
  for (let i = 0; i < 10; i++) {
    await job();
    expect(tf.memory().numTensors).toBe(baseline.numTensors);
    expect(tf.memory().numBytes).toBeLessThanOrEqual(baseline.numBytes);
  }
  expect(heap()).toBe(heapAfterFirst);
}
