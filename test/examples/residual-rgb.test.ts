import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shapeClasses, shapePixels, shapePng, writeShapesRgb } from '../../examples/make-shapes-rgb.js';
import { loadConfig } from '../../src/config.js';
import { DatasetCatalogue } from '../../src/data/dataset-catalogue.js';
import { analyzeNetwork } from '../../src/nn/analyze.js';
import { dataShape, validateTrainingRequest, type DataShape } from '../../src/run/training-request.js';
import { DatasetStore } from '../../src/store/datasets.js';
import { ingestAs } from '../helpers/datasets.js';

const example = (name: string) => readFile(new URL(`../../examples/${name}`, import.meta.url), 'utf8').then((text) => JSON.parse(text) as unknown);
const config = loadConfig({ DATA_DIR: '/nonexistent', REDIS_URL: 'redis://127.0.0.1:6379', TRAINYARD_BACKEND: 'wasm' });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'shapes-rgb-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Every file under `root` by its path relative to it, with its bytes. */
async function filesUnder(root: string): Promise<Map<string, Buffer>> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = new Map<string, Buffer>();
  for (const entry of entries.filter((e) => e.isFile())) {
    const file = path.join(entry.parentPath, entry.name);
    files.set(path.relative(root, file), await readFile(file));
  }
  return files;
}

describe('the shapes-rgb generator (examples/make-shapes-rgb.ts)', () => {
  it('draws the same image for the same seed and index, and another for another seed', async () => {
    for (const [index, label] of [[0, 0], [17, 3], [2999, 5]] as const) {
      expect(await shapePng(1, index, label)).toEqual(await shapePng(1, index, label));
      expect(Buffer.from(shapePixels(2, index, label)).equals(Buffer.from(shapePixels(1, index, label)))).toBe(false);
    }
  });

  it('writes the same bytes into the same class folders on two runs', async () => {
    const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
    expect(await writeShapesRgb(a, { seed: 5, trainPerClass: 3, testPerClass: 1 })).toBe(24);
    await writeShapesRgb(b, { seed: 5, trainPerClass: 3, testPerClass: 1 });
    const [first, second] = [await filesUnder(a), await filesUnder(b)];
    expect([...first.keys()].sort()).toEqual(['train', 'test'].flatMap((split) => shapeClasses.flatMap((c) => (split === 'train' ? ['0000', '0001', '0002'] : ['0000']).map((n) => path.join(split, c, `${n}.png`)))).sort());
    for (const [name, bytes] of first) expect(bytes.equals(second.get(name)!), name).toBe(true);
  });
});

describe('examples/residual-rgb.json', () => {
  let shapes: DataShape;
  beforeAll(async () => {
    const folder = path.join(dir, 'ingested');
    await writeShapesRgb(folder, { seed: 1, trainPerClass: 4, testPerClass: 2 });
    const store = DatasetStore.inDataDir(path.join(dir, 'data'));
    await ingestAs(store, folder, 'ds-shapes', 'tenant-a');
    const described = await new DatasetCatalogue(store).describe('ds-shapes', 'tenant-a');
    if ('problem' in described) throw new Error(described.problem.message);
    shapes = dataShape(described.name, described.description);
  });

  it("fits the generated dataset's description as the API checks a job on it: 32x32x3 images, 6 classes", async () => {
    expect(shapes).toMatchObject({ size: [32, 32, 3], classes: 6 });
    expect(validateTrainingRequest({ network: await example('residual-rgb.json'), options: { maxEpochs: 30, miniBatchSize: 64, seed: 1 } }, shapes, config)).toMatchObject({ ok: true });
    // The check that passes it is the one that refuses the digits' network on these images.
    const digits = validateTrainingRequest({ network: await example('residual-digits.json') }, shapes, config);
    expect(digits.ok ? [] : digits.problems.map((p) => p.path)).toEqual(['network.layers[0].inputSize', 'network.layers[13]']);
  });

  it("is a ResNet's strided block: the 1x1 strided projection meets the strided convolutions at 8x8x32", async () => {
    const analysis = await analyzeNetwork(await example('residual-rgb.json'), config.networkLimits);
    if (!analysis.ok) throw new Error(JSON.stringify(analysis.problems));
    const layer = (name: string) => analysis.value.layers.find((l) => l.name === name);
    expect(layer('add_1')).toMatchObject({ inputs: ['bn_3', 'relu_1'], outputSize: [16, 16, 16] });
    expect(layer('add_2')).toMatchObject({ inputs: ['bn_5', 'skip_bn'], outputSize: [8, 8, 32] });
    expect(layer('skip_conv')).toMatchObject({ inputs: ['relu_3'], outputSize: [8, 8, 32], learnables: 16 * 32 + 32 });
    expect(layer('gap')).toMatchObject({ outputSize: [1, 1, 32] });
    expect(analysis.value.numClasses).toBe(shapes.classes);
  });
});
