import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { datasetCatalogue, localDatasetStore, trainingBackend } from '../composition.js';
import type { DatasetCatalogue } from '../data/dataset-catalogue.js';
import { ingestLimits } from '../data/ingest/limits.js';
import { IngestError } from '../data/ingest/skips.js';
import { localDataset, localTenant, type LocalIngestOptions } from '../data/local-dataset.js';
import { UserProblem } from '../nn/problems.js';
import { verboseFooter, verboseHeader, verboseRow } from '../nn/verbose.js';
import type { Network } from '../nn/spec.js';
import { startingModel, type StartingModel } from '../run/initial-model.js';
import { trainAndSave } from '../run/train-and-save.js';
import { requireValidTrainingRequest } from '../run/training-request.js';
import { ModelStore } from '../store/models.js';
import { fail, intFlag, jsonFlag, parseFlags, problemText } from './args.js';

const usage = `Usage: npm run train -- --network FILE [--dataset digits|ID|PATH] [--options JSON|@FILE] [--train-size N] [--out DIR]
       [--initial-model DIR] [--image-size HxW] [--channels 1|3] [--size-mode resize|centercrop] [--test-fraction F]

Trains a network on a dataset, printing MATLAB's verbose table, then the test accuracy, and saves
the model folder to DIR (default: DATA_DIR/models/cli-<time>).

--dataset PATH (a value with a '/', or ending in .zip, .tar, .tar.gz or .tgz) is a folder or archive
on this machine in any layout an upload may have (class folders, train/ and test/ folders, a
labels.csv, IDX files). It is ingested as the service ingests uploads, into DATA_DIR/datasets under
an id made from its files' names, sizes and times and the conversion options (--image-size,
--channels, --size-mode, --test-fraction, as for uploads); a later run on the same unchanged source
reuses it.

--initial-model DIR starts from the model folder DIR (an --out of an earlier run, or
DATA_DIR/models/<id>): the network's layers of the same name, type and learnable sizes take its
weights, the others start as usual.`;

const flags = parseFlags(usage, {
  network: { type: 'string' },
  dataset: { type: 'string', default: 'digits' },
  options: { type: 'string' },
  'train-size': { type: 'string' },
  out: { type: 'string' },
  'initial-model': { type: 'string' },
  'image-size': { type: 'string' },
  channels: { type: 'string' },
  'size-mode': { type: 'string' },
  'test-fraction': { type: 'string' },
});

/** A --dataset value naming a folder or archive on this machine rather than a dataset id. */
function isLocalPath(value: string): boolean {
  return /[/\\]/.test(value) || value === '.' || value === '..' || /\.(zip|tar|tar\.gz|tgz)$/i.test(value);
}

/** The conversion flags, checked as the upload route checks its query. */
function conversionFlags(maxSide: number): LocalIngestOptions {
  const options: LocalIngestOptions = {};
  const size = flags['image-size'];
  if (size !== undefined) {
    const match = /^([1-9]\d*)x([1-9]\d*)$/.exec(size);
    if (!match) fail(`--image-size must be HEIGHTxWIDTH, e.g. 28x28, not '${size}'`);
    const [height, width] = [Number(match[1]), Number(match[2])];
    if (height > maxSide || width > maxSide) fail(`--image-size: height and width must be at most ${maxSide} (MAX_IMAGE_SIDE), not ${size}`);
    options.imageSize = [height, width];
  }
  const channels = flags.channels;
  if (channels !== undefined) {
    if (channels !== '1' && channels !== '3') fail(`--channels must be 1 (grey) or 3 (colour), not '${channels}'`);
    options.channels = channels === '1' ? 1 : 3;
  }
  const mode = flags['size-mode'];
  if (mode !== undefined) {
    if (mode !== 'resize' && mode !== 'centercrop') fail(`--size-mode must be resize or centercrop, not '${mode}'`);
    options.sizeMode = mode;
  }
  const fraction = flags['test-fraction'];
  if (fraction !== undefined) {
    const value = Number(fraction);
    if (!(value > 0 && value < 1)) fail(`--test-fraction must be a number between 0 and 1 (exclusive), not '${fraction}'`);
    options.testFraction = value;
  }
  return options;
}

/** The catalogue and the tenant to resolve --dataset with: a local source is ingested (or found stored) first. */
async function datasetToResolve(config: Config): Promise<{ catalogue: DatasetCatalogue; id: string; tenant: string }> {
  const value = flags.dataset!;
  const conversion = conversionFlags(config.networkLimits.maxImageSide);
  if (!isLocalPath(value)) {
    if (Object.keys(conversion).length > 0) fail(`--image-size, --channels, --size-mode and --test-fraction apply to a folder or archive given as --dataset, not to '${value}'`);
    return { catalogue: datasetCatalogue(config), id: value, tenant: 'cli' };
  }
  const store = localDatasetStore(config);
  let shown = 0;
  const local = await localDataset(value, store, ingestLimits(config), conversion, ({ read, total }) => {
    // A line per tenth of the images, not one per image.
    const tenth = Math.floor((10 * read) / total);
    if (tenth > shown || read === total) console.log(`  ${read}/${total} images`);
    shown = tenth;
  }).catch((err: unknown) => {
    if (err instanceof IngestError) fail(`--dataset ${value}: ${err.message}`);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') fail(`--dataset ${value}: no such folder or file`);
    throw err;
  });
  const where = path.join(config.dataDir, 'datasets', local.id);
  console.log(local.reused ? `dataset: reusing ${where}, ingested from ${value} by an earlier run` : `dataset: ingested ${value} into ${where}`);
  const { classes, size, splits, skipped } = local.manifest;
  console.log(`  ${classes.length} classes, ${size.join('x')} images: ${splits.train.count} train, ${splits.test.count} test${skipped.length > 0 ? `; skipped: ${skipped.map((s) => `${s.count} ${s.reason}`).join(', ')}` : ''}`);
  return { catalogue: datasetCatalogue(config, store), id: local.id, tenant: localTenant };
}

/** The model folder --initial-model names, checked against the network; says which layers take its weights. */
async function startingFolder(dir: string, network: Network): Promise<StartingModel> {
  const { store, id } = ModelStore.atFolder(dir);
  const initial = await startingModel(store, id, null, network, true);
  const { layersFromModel, layersNotFromModel } = initial.use;
  console.log(`initial model: ${path.resolve(dir)}; from it: ${layersFromModel.join(', ')}${layersNotFromModel.map((n) => `; ${n.layer}: ${n.reason}`).join('')}`);
  return initial;
}

try {
  const config = loadConfig();
  if (!flags.network) fail(`--network is required\n\n${usage}`);
  const network = JSON.parse(readFileSync(flags.network, 'utf8')) as unknown;
  const options = jsonFlag(flags.options, '--options');
  const trainSize = intFlag(flags['train-size'], '--train-size');
  const { catalogue, id, tenant } = await datasetToResolve(config);
  const dataset = await catalogue.resolve(trainSize ? { id, trainImages: trainSize } : id, tenant);
  if ('problem' in dataset) fail(`--dataset: ${dataset.problem.message.replace(/^dataset: /, '')}`);
  const out = path.resolve(flags.out ?? path.join(config.dataDir, 'models', `cli-${new Date().toISOString().replace(/[:.]/g, '-')}`));

  const backend = await trainingBackend(config);
  console.log(`backend: ${backend.name} (${backend.reason})`);
  const request = await requireValidTrainingRequest({ network, options }, dataset, config);
  const withValidation = request.options.validationData !== null;
  const trainCount = (await dataset.source.describe()).counts.train;

  const initial = flags['initial-model'] ? await startingFolder(flags['initial-model'], request.network) : null;

  console.log(`Training on ${trainCount} ${dataset.name} images.`);
  console.log(verboseHeader(withValidation));
  const origin = { initialModel: initial?.use ?? null, resumedCount: 0 };
  const { result, manifest } = await trainAndSave(
    config,
    backend,
    dataset,
    request,
    { ...ModelStore.atFolder(out), keepAborted: true, origin },
    {
      onProgress: (r) => {
        if (r.verbose) console.log(verboseRow(r, withValidation));
      },
      ...(initial?.model ? { initialWeights: { model: initial.model.model, layers: initial.use.layersFromModel } } : {}),
    },
  ).finally(() => initial?.model?.dispose());
  console.log(verboseFooter(withValidation));
  console.log(`Training ${result.stopReason === 'max-epochs' ? 'finished: max epochs completed' : `stopped: ${result.stopReason}`}.`);
  console.log(
    `${result.iterations} iterations in ${result.trainingSeconds.toFixed(2)} s (${((1000 * result.trainingSeconds) / Math.max(1, result.iterations)).toFixed(1)} ms/iteration), seed ${result.seed}, backend ${result.backend}`,
  );
  console.log(`model saved to ${out}`);
  console.log(`test accuracy: ${manifest?.metrics.testAccuracy?.toFixed(4) ?? 'n/a'}`);
} catch (err) {
  if (err instanceof UserProblem) fail(problemText(err));
  if (err instanceof ConfigError) fail(err.message);
  throw err;
}
