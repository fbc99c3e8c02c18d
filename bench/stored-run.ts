/**
 * One training run as a worker does it (the child that bench/stored-data.ts times and measures):
 * the seed network trained with trainAndSave on a dataset the catalogue resolves from DATA_DIR
 * (the stored built-in digits, or a stored dataset by id), or on the digits held in memory
 * (`--dataset memory`, the path jobs took before datasets were stored). Prints one JSON line.
 *
 *   tsx bench/stored-run.ts --data-dir DIR --dataset ID|memory [--tenant bench] [--epochs 2] [--batch 128]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { datasetCatalogue, trainingBackend } from '../src/composition.js';
import { loadConfig } from '../src/config.js';
import type { ResolvedDataset } from '../src/data/dataset-catalogue.js';
import { loadDigits } from '../src/data/digits.js';
import { InMemorySource } from '../src/data/in-memory-source.js';
import { trainAndSave } from '../src/run/train-and-save.js';
import { requireValidTrainingRequest } from '../src/run/training-request.js';
import { ModelStore } from '../src/store/models.js';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    dataset: { type: 'string', default: 'digits' },
    tenant: { type: 'string', default: 'bench' },
    epochs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '128' },
  },
});
const seedNetwork = JSON.parse(await readFile(new URL('../examples/seed-elu.json', import.meta.url), 'utf8')) as unknown;
const config = loadConfig({ ...process.env, DATA_DIR: values['data-dir']! });
const backend = await trainingBackend(config);
// Resolved (and, in memory, read) before the clock starts, as a worker has the digits when its first job arrives.
let dataset: ResolvedDataset;
if (values.dataset === 'memory') {
  dataset = { id: 'memory', name: 'digits in memory', sizeMode: 'resize', source: InMemorySource.of(await loadDigits()) };
} else {
  const resolved = await datasetCatalogue(config).resolve(values.dataset!, values.tenant!);
  if ('problem' in resolved) throw new Error(resolved.problem.message);
  dataset = resolved;
}
const request = await requireValidTrainingRequest({ network: seedNetwork, options: { maxEpochs: Number(values.epochs), miniBatchSize: Number(values.batch), seed: 1 } }, dataset, config);
const models = await mkdtemp(path.join(os.tmpdir(), 'bench-stored-run-'));
try {
  const { result, manifest } = await trainAndSave(config, backend, dataset, request, { id: 'bench', store: ModelStore.inDataDir(models) }, { readbackIntervalMs: config.events.progressIntervalMs });
  console.log(
    JSON.stringify({
      dataset: values.dataset,
      trainImages: (await dataset.source.describe()).counts.train,
      iterations: result.iterations,
      ms_per_iteration: Number(((1000 * result.trainingSeconds) / result.iterations).toFixed(2)),
      test_accuracy: manifest?.metrics.testAccuracy ?? null,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
} finally {
  await rm(models, { recursive: true, force: true });
}
