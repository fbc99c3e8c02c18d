/**
 * What a checkpoint costs: the seed network (sgdm, batch 128) on the digits, on the backend
 * TRAINYARD_BACKEND picks (wasm by default), trained in alternating rounds without checkpoints and
 * with one after every iteration (read from the device, encoded, published in a FileBlobStore in a
 * temporary folder, the older ones removed), so a change in the machine's load touches both alike.
 * The cost of a checkpoint is the difference per iteration; its share is that cost against an
 * epoch of the seed run (5000 digits: 39 iterations), the default frequency. Target: under 0.02.
 *
 *   npx tsx bench/checkpoint.ts [--rounds 3] [--iterations 20]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { take } from '../src/data/dataset.js';
import { loadDigits } from '../src/data/digits.js';
import { InMemorySource } from '../src/data/in-memory-source.js';
import { initBackend } from '../src/nn/backend.js';
import { encodeCheckpoint } from '../src/nn/checkpoint.js';
import { validateTrainingOptions } from '../src/nn/options.js';
import { validateNetwork } from '../src/nn/spec.js';
import { train, type TrainHooks } from '../src/nn/train.js';
import { CheckpointStore } from '../src/store/checkpoints.js';
import { FileBlobStore } from '../src/store/file-blob-store.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, iterations: { type: 'string', default: '20' } } });
const rounds = Number(values.rounds);
const iterations = Number(values.iterations);
const batchSize = 128;
const seedRunImages = 5000;

const config = loadConfig();
const backend = await initBackend(config.backend);
const validNetwork = validateNetwork(JSON.parse(readFileSync(new URL('../examples/seed-elu.json', import.meta.url), 'utf8')));
const validOptions = validateTrainingOptions({ maxEpochs: 1, miniBatchSize: batchSize, seed: 1, batchNormalizationStatistics: 'moving', checkpointFrequency: 1, checkpointFrequencyUnit: 'iteration' });
if (!validNetwork.ok || !validOptions.ok) throw new Error('the seed network or the options did not validate');
const [network, options] = [validNetwork.value, validOptions.value];
const digits = await loadDigits();
const source = InMemorySource.of({ train: take(digits.train, batchSize * iterations), test: take(digits.test, 1) });
const dir = await mkdtemp(path.join(os.tmpdir(), 'trainyard-bench-checkpoint-'));
const store = new CheckpointStore(new FileBlobStore(dir));

/** Milliseconds per iteration of one short run, with the given hooks. */
async function iterationMs(hooks: TrainHooks): Promise<number> {
  const result = await train(network, { source }, options, hooks);
  result.classifier.dispose();
  return (1000 * result.trainingSeconds) / result.iterations;
}

let bytes = 0;
const withCheckpoints: TrainHooks = {
  onCheckpoint: async (checkpoint) => {
    bytes = encodeCheckpoint(checkpoint).tensors.byteLength;
    await store.save('bench', { checkpoint, lastEventId: null });
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown cpu'}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, backend ${backend.name}`);
await iterationMs({}); // warm-up: the first run compiles kernels
const rows: { plain: number; checkpointed: number }[] = [];
for (let r = 0; r < rounds; r++) rows.push({ plain: await iterationMs({}), checkpointed: await iterationMs(withCheckpoints) });
await rm(dir, { recursive: true, force: true });
const plain = median(rows.map((r) => r.plain));
const cost = median(rows.map((r) => r.checkpointed - r.plain));
const epoch = Math.floor(seedRunImages / batchSize) * plain;
console.log(`seed iteration (batch ${batchSize}), no checkpoint: ${plain.toFixed(2)} ms   (rounds: ${rows.map((r) => r.plain.toFixed(1)).join(', ')})`);
console.log(`seed iteration with a checkpoint after it:   ${median(rows.map((r) => r.checkpointed)).toFixed(2)} ms   (rounds: ${rows.map((r) => r.checkpointed.toFixed(1)).join(', ')})`);
console.log(`one checkpoint: ${cost.toFixed(2)} ms, ${bytes} bytes of tensors (weights, momentum, the data order)`);
console.log(`share of an epoch of the seed run (${Math.floor(seedRunImages / batchSize)} iterations, the default frequency): ${(cost / epoch).toFixed(4)} (target < 0.02)`);
console.log(`load after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
