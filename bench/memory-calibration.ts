/**
 * `npx tsx bench/memory-calibration.ts`: trains a few networks for two iterations on the wasm
 * backend and prints each one's estimate next to the wasm heap it really grew to (wasm memory never
 * shrinks, so its size afterwards is the peak). The factors in src/nn/memory.ts come from this.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InMemorySource } from '../src/data/in-memory-source.js';
import { initBackend } from '../src/nn/backend.js';
import { estimateTrainingMemory, formatBytes } from '../src/nn/memory.js';
import { validateTrainingOptions } from '../src/nn/options.js';
import { validateNetwork } from '../src/nn/spec.js';
import { train } from '../src/nn/train.js';
import { backendMemory, type WasmBackendInternals } from '../src/nn/wasm/heap.js';

const cases: Record<string, { layers: object[]; options: object; trainCount: number }> = {
  fc: {
    layers: [{ type: 'imageInput', inputSize: [28, 28, 1], normalization: 'none' }, { type: 'fullyConnected', outputSize: Number(process.env.FC ?? 6000) }, { type: 'relu' }, { type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' }],
    options: { solver: 'adam', miniBatchSize: 64, maxEpochs: 1 },
    trainCount: Number(process.env.COUNT ?? 128),
  },
  custom: {
    layers: [
      { type: 'imageInput', inputSize: [28, 28, 1], normalization: 'none' },
      { type: 'convolution2d', filterSize: [3, 3], numFilters: 16, padding: 'same' },
      { type: 'custom', name: 'long', learnables: { a: { shape: 'perChannel', initializer: 'ones' } }, forward: 'tanh(x*a + x*x*a - x*a*a + x*x*x*0.1 + a*x - x*0.5 + x*x*0.25)' },
      { type: 'fullyConnected', outputSize: 10 }, { type: 'softmax' }, { type: 'classification' },
    ],
    options: { solver: 'adam', miniBatchSize: Number(process.env.BATCH ?? 256), maxEpochs: 1 },
    trainCount: 2 * Number(process.env.BATCH ?? 256),
  },
};

const which = process.argv[2] ?? 'fc';
const spec = cases[which]!;
await initBackend('wasm');
const network = validateNetwork({ layers: spec.layers });
if (!network.ok) throw new Error(JSON.stringify(network.problems));
const options = validateTrainingOptions(spec.options);
if (!options.ok) throw new Error(JSON.stringify(options.problems));
const [h, w, c] = network.value.inputSize;
const count = spec.trainCount;
const images = Float32Array.from({ length: count * h * w * c }, () => Math.random());
const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
const random = { images, labels, count, size: [h, w, c] as [number, number, number], classes: [...'0123456789'] };
const source = InMemorySource.of({ train: random, test: random });
const memory = () => backendMemory(tf.backend() as unknown as WasmBackendInternals).buffer.byteLength;
const before = memory();
const result = await train(network.value, { source }, options.value);
await result.classifier.evaluate(source, 'train');
result.classifier.dispose();
const estimate = estimateTrainingMemory(network.value, options.value);
console.log(JSON.stringify({ case: which, heapBefore: formatBytes(before), heapPeak: formatBytes(memory()), heapPeakBytes: memory(), estimate: formatBytes(estimate.bytes), estimateBytes: estimate.bytes }));
