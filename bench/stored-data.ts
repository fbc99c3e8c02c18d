/**
 * Training on stored datasets against training from memory, in one invocation:
 *  1. ms/iteration of the seed network (mini-batches of 128) on the digits held in memory (the path
 *     jobs took before datasets were stored), on the stored built-in digits (one shard a split), and
 *     on an ingested copy of the digits (IDX in a tar, 1024 images a shard: shuffled shard by shard);
 *     runs alternate, each in a child process as a worker; target: stored within 10% of memory.
 *     The data path alone is timed too, in this process: a shuffled epoch of mini-batches of 128
 *     from each source, without training (what the source adds to every iteration).
 *  2. Peak RSS of a child training (trainAndSave, as a worker) on a stored dataset of 60,000
 *     images (one epoch) against one of 5,000 (twelve: the same 468 iterations) (the digits repeated; 1,000 test images each); target:
 *     independent of the dataset's size.
 *
 *   npm run bench:stored-data -- [--epochs 2] [--rounds 3]
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import tarStream from 'tar-stream';
import { loadDigits } from '../src/data/digits.js';
import { ingestArchive } from '../src/data/ingest/ingest.js';
import { defaultIngestLimits } from '../src/data/ingest/limits.js';
import { DatasetCatalogue } from '../src/data/dataset-catalogue.js';
import { InMemorySource } from '../src/data/in-memory-source.js';
import { ensureStoredDigits } from '../src/data/stored-digits.js';
import type { DatasetSource } from '../src/nn/dataset-source.js';
import { Random } from '../src/nn/random.js';
import { DatasetStore } from '../src/store/datasets.js';

const exec = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { epochs: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } } });
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

/** An MNIST-format IDX pair per split, in a tar: what ingestion reads as layout 'idx'. */
async function writeIdxTar(file: string, splits: { prefix: string; images: Uint8Array; labels: Uint8Array }[]): Promise<void> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const { prefix, images, labels } of splits) {
    const header = Buffer.alloc(16);
    header.writeUInt32BE(0x803, 0);
    header.writeUInt32BE(labels.length, 4);
    header.writeUInt32BE(28, 8);
    header.writeUInt32BE(28, 12);
    pack.entry({ name: `${prefix}-images-idx3-ubyte` }, Buffer.concat([header, images]));
    const labelHeader = Buffer.alloc(8);
    labelHeader.writeUInt32BE(0x801, 0);
    labelHeader.writeUInt32BE(labels.length, 4);
    pack.entry({ name: `${prefix}-labels-idx1-ubyte` }, Buffer.concat([labelHeader, labels]));
  }
  pack.finalize();
  await collected;
  await writeFile(file, Buffer.concat(chunks));
}

/** `count` digits from the 10,000 of the package, taken round and round (train first, then test). */
function digitsBytes(all: { images: Float32Array; labels: Uint8Array }, count: number) {
  const total = all.labels.length;
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const k = i % total;
    for (let j = 0; j < 784; j++) images[i * 784 + j] = Math.round(all.images[k * 784 + j]! * 255);
    labels[i] = all.labels[k]!;
  }
  return { images, labels };
}

interface Run {
  dataset: string;
  trainImages: number;
  iterations: number;
  ms_per_iteration: number;
  test_accuracy: number | null;
  peak_rss_mb: number;
}

async function run(dataDir: string, dataset: string, epochs: string): Promise<Run> {
  const { stdout } = await exec(path.join(root, 'node_modules/.bin/tsx'), ['bench/stored-run.ts', '--data-dir', dataDir, '--dataset', dataset, '--epochs', epochs], { cwd: root, maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Run;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-stored-'));
try {
  console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; load average ${load()}`);
  const store = DatasetStore.inDataDir(dir);
  await ensureStoredDigits(store);
  const { train, test } = await loadDigits();
  const all = { images: new Float32Array([...train.images, ...test.images]), labels: new Uint8Array([...train.labels, ...test.labels]) };
  const ingest = async (id: string, splits: Parameters<typeof writeIdxTar>[1]) => {
    const archive = path.join(dir, `${id}.tar`);
    await writeIdxTar(archive, splits);
    await ingestArchive(archive, store.writer(id), { limits: defaultIngestLimits, seed: 1, identity: { id, name: id, tenant: 'bench', createdAt: new Date().toISOString() } });
    await rm(archive);
  };
  const quantised = (d: typeof train) => digitsBytes(d, d.count);
  await ingest('digits-copy', [{ prefix: 'train', ...quantised(train) }, { prefix: 't10k', ...quantised(test) }]);
  const heldOut = digitsBytes({ images: test.images, labels: test.labels }, 1000);
  await ingest('digits-5k', [{ prefix: 'train', ...digitsBytes(all, 5000) }, { prefix: 't10k', ...heldOut }]);
  await ingest('digits-60k', [{ prefix: 'train', ...digitsBytes(all, 60000) }, { prefix: 't10k', ...heldOut }]);
  console.log(`datasets stored; load average ${load()}`);

  // 1a. The data path alone: ms per mini-batch of a shuffled epoch, sources alternating.
  const catalogue = new DatasetCatalogue(store);
  const memory = InMemorySource.of({ train, test });
  const resolvedSource = async (id: string) => {
    const resolved = await catalogue.resolve(id, 'bench');
    if ('problem' in resolved) throw new Error(resolved.problem.message);
    return resolved.source;
  };
  const passSources = new Map<string, DatasetSource>([['memory', memory], ['digits', await resolvedSource('digits')], ['digits-copy', await resolvedSource('digits-copy')]]);
  const batchTimes = new Map<string, number[]>([...passSources.keys()].map((k) => [k, []]));
  for (let round = 0; round < 5; round++) {
    for (const [name, source] of passSources) {
      const order = source.shuffledOrder?.(new Random(round), 5000) ?? new Random(round).permutation(5000);
      const started = performance.now();
      let batches = 0;
      for await (const _ of source.batches('train', { batchSize: 128, order, dropLast: true })) batches++;
      batchTimes.get(name)!.push((performance.now() - started) / batches);
    }
  }
  for (const [name, ms] of batchTimes) console.log(`data path alone, ms per mini-batch of 128, ${name.padEnd(12)}: median ${median(ms).toFixed(2)}`);

  // 1b. ms/iteration, the three sources alternating so that load changes fall on all of them.
  const sources = ['memory', 'digits', 'digits-copy'];
  const times = new Map<string, number[]>(sources.map((s) => [s, []]));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const source of sources) {
      const r = await run(dir, source, values.epochs!);
      times.get(source)!.push(r.ms_per_iteration);
      console.log(`  round ${round + 1} ${source.padEnd(12)} ${r.iterations} iterations, ${r.ms_per_iteration} ms/iteration, test accuracy ${r.test_accuracy}, peak RSS ${r.peak_rss_mb} MB (load ${load()})`);
    }
  }
  const reference = median(times.get('memory')!);
  for (const source of sources) {
    const m = median(times.get(source)!);
    console.log(`seed network ms/iteration, ${source.padEnd(12)}: median ${m.toFixed(1)} (${(m / reference).toFixed(3)}x memory)`);
  }

  // 2. Peak RSS, alternating, the same 468 iterations each: one epoch of 60,000, twelve of 5,000.
  const rss = new Map<string, number[]>([['digits-5k', []], ['digits-60k', []]]);
  const epochsOf = new Map([['digits-5k', '12'], ['digits-60k', '1']]);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const id of rss.keys()) {
      const r = await run(dir, id, epochsOf.get(id)!);
      rss.get(id)!.push(r.peak_rss_mb);
      console.log(`  round ${round + 1} ${id.padEnd(11)} ${r.trainImages} images, ${r.iterations} iterations, peak RSS ${r.peak_rss_mb} MB (load ${load()})`);
    }
  }
  const small = median(rss.get('digits-5k')!);
  const large = median(rss.get('digits-60k')!);
  console.log(`worker peak RSS: 5,000 images ${small} MB, 60,000 images ${large} MB (${(large / small).toFixed(3)}x)`);
  console.log(`load average after: ${load()}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
