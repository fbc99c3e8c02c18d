/**
 * What augmentation costs: imageDataAugmenter's transforms (every option on) applied to one
 * mini-batch of the seed network (128 digits, 28x28x1), against one training iteration of the seed
 * network on the backend TRAINYARD_BACKEND picks (wasm by default), measured in this invocation,
 * in alternating rounds so that a change in the machine's load touches both alike. The target is
 * a ratio of at most 0.20. Also prints the seed run's iteration with augmentation on, end to end,
 * and tfjs's tf.image.transform doing the same warps on the same backend (the alternative not taken).
 *
 *   npx tsx bench/augment.ts [--rounds 3] [--iterations 20]
 */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { take } from '../src/data/dataset.js';
import { loadDigits } from '../src/data/digits.js';
import { InMemorySource } from '../src/data/in-memory-source.js';
import * as tf from '@tensorflow/tfjs-core';
import { Augmenter, inverseAffine } from '../src/nn/augmenter.js';
import { initBackend } from '../src/nn/backend.js';
import { validateTrainingOptions, type TrainingOptions } from '../src/nn/options.js';
import { validateNetwork } from '../src/nn/spec.js';
import { train } from '../src/nn/train.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, iterations: { type: 'string', default: '20' } } });
const rounds = Number(values.rounds);
const iterations = Number(values.iterations);
const batchSize = 128;
const augmentation = { randXReflection: true, randYReflection: true, randRotation: [-20, 20], randScale: [0.9, 1.1], randXTranslation: [-3, 3], randYTranslation: [-3, 3] };

const config = loadConfig();
const backend = await initBackend(config.backend);
const validNetwork = validateNetwork(JSON.parse(readFileSync(new URL('../examples/seed-elu.json', import.meta.url), 'utf8')));
const optionsFor = (augmented: boolean) =>
  validateTrainingOptions({ maxEpochs: 1, miniBatchSize: batchSize, seed: 1, batchNormalizationStatistics: 'moving', ...(augmented ? { augmentation } : {}) });
const validPlain = optionsFor(false);
const validAugmented = optionsFor(true);
if (!validNetwork.ok || !validPlain.ok || !validAugmented.ok) throw new Error('the seed network or the options did not validate');
const [network, plain, augmented] = [validNetwork.value, validPlain.value, validAugmented.value];
const digits = await loadDigits();
const source = InMemorySource.of({ train: take(digits.train, batchSize * iterations), test: take(digits.test, 1) });

/** Milliseconds per training iteration of one short run. */
async function iterationMs(options: TrainingOptions): Promise<number> {
  const result = await train(network, { source }, options);
  result.classifier.dispose();
  return (1000 * result.trainingSeconds) / result.iterations;
}

/** Milliseconds to augment one mini-batch, the median of `iterations` batches. */
function augmentMs(): number {
  const augmenter = new Augmenter(augmented.augmentation!, [28, 28, 1], 1);
  const batch = digits.train.images.subarray(0, batchSize * 784);
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    augmenter.apply(batch, batchSize);
    times.push(performance.now() - start);
  }
  return median(times);
}

/** Milliseconds for tf.image.transform to warp one mini-batch (bilinear, constant 0 fill), the median of `iterations` batches. */
function tfTransformMs(): number {
  const batch = digits.train.images.subarray(0, batchSize * 784);
  const matrices = Array.from({ length: batchSize }, (_, i) => {
    const m = inverseAffine({ reflectX: i % 2 === 0, reflectY: i % 3 === 0, rotation: (i % 40) - 20, scale: 0.9 + (i % 20) / 100, translateX: (i % 7) - 3, translateY: (i % 5) - 2 }, 28, 28);
    return [m.a, m.b, m.e, m.c, m.d, m.f, 0, 0];
  });
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    tf.tidy(() => tf.image.transform(tf.tensor4d(batch, [batchSize, 28, 28, 1]), tf.tensor2d(matrices), 'bilinear', 'constant', 0).dataSync());
    times.push(performance.now() - start);
  }
  return median(times);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown cpu'}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, backend ${backend.name}`);
augmentMs();
tfTransformMs();
await iterationMs(plain); // warm-up: the first run compiles kernels
const rows: { plain: number; augmented: number; augment: number; tfTransform: number }[] = [];
for (let r = 0; r < rounds; r++) rows.push({ plain: await iterationMs(plain), augment: augmentMs(), tfTransform: tfTransformMs(), augmented: await iterationMs(augmented) });
const m = {
  plain: median(rows.map((r) => r.plain)),
  augment: median(rows.map((r) => r.augment)),
  tfTransform: median(rows.map((r) => r.tfTransform)),
  augmented: median(rows.map((r) => r.augmented)),
};
console.log(`seed iteration (batch ${batchSize}), no augmentation: ${m.plain.toFixed(2)} ms   (rounds: ${rows.map((r) => r.plain.toFixed(1)).join(', ')})`);
console.log(`augmenting one batch, every option on:   ${m.augment.toFixed(2)} ms   (rounds: ${rows.map((r) => r.augment.toFixed(2)).join(', ')})`);
console.log(`tf.image.transform, the same warps:       ${m.tfTransform.toFixed(2)} ms   (rounds: ${rows.map((r) => r.tfTransform.toFixed(2)).join(', ')}; ratio ${(m.tfTransform / m.plain).toFixed(3)})`);
console.log(`seed iteration with augmentation:        ${m.augmented.toFixed(2)} ms   (rounds: ${rows.map((r) => r.augmented.toFixed(1)).join(', ')})`);
console.log(`ratio augmentation / iteration: ${(m.augment / m.plain).toFixed(3)} (target <= 0.20)`);
console.log(`load after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
