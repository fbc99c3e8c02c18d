import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.js';
import { trainAndSave } from '../../src/run/train-and-save.js';
import { requireValidTrainingRequest } from '../../src/run/training-request.js';
import type { ModelEvaluation } from '../../src/store/models.js';
import { ModelStore } from '../../src/store/models.js';
import { digits, seedNetworkJson } from '../helpers/data.js';
import { saveTestModel } from '../helpers/models.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

/** A model trained and saved as a worker does (trainAndSave), read back through the API. */
let env: ServiceEnv;
let api: Api;
const id = 'evaluated';

beforeAll(async () => {
  env = await serviceEnv('model-evaluation', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  api = await Api.start(env.config);
  const backend = await initBackend('wasm');
  // A short run on few images: far from perfect, so every class has mistakes to show.
  const data = { id: 'digits', name: 'digits', sizeMode: 'resize' as const, source: (await digits(128, 300)).source };
  const request = await requireValidTrainingRequest({ network: seedNetworkJson, options: { miniBatchSize: 32, maxEpochs: 1, seed: 2 } }, data, env.config);
  await trainAndSave(env.config, backend, data, request, { id, store: ModelStore.inDataDir(env.dataDir), tenant: 'local' });
  await saveTestModel(env.dataDir, 'unevaluated', { evaluated: false });
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

describe("a model's test evaluation", () => {
  it('is in the manifest: a confusion matrix over the whole test split that agrees with the test accuracy, and precision and recall per class', async () => {
    const { status, body } = await api.json<{ evaluation: ModelEvaluation; metrics: { testAccuracy: number }; classes: string[]; links: Record<string, string> }>('GET', `/v1/models/${id}`);
    expect(status).toBe(200);
    const { confusionMatrix, precision, recall, count } = body.evaluation;
    expect(count).toBe(300);
    expect(confusionMatrix).toHaveLength(10);
    expect(confusionMatrix.flat().reduce((s, v) => s + v, 0)).toBe(300);
    const diagonal = confusionMatrix.reduce((s, row, i) => s + row[i]!, 0);
    expect(diagonal / 300).toBeCloseTo(body.metrics.testAccuracy, 10);
    for (let c = 0; c < 10; c++) {
      const rowSum = confusionMatrix[c]!.reduce((s, v) => s + v, 0);
      expect(recall[c]).toBeCloseTo(confusionMatrix[c]![c]! / rowSum, 10);
      const columnSum = confusionMatrix.reduce((s, row) => s + row[c]!, 0);
      expect(precision[c]).toEqual(columnSum === 0 ? null : expect.closeTo(confusionMatrix[c]![c]! / columnSum, 10));
    }
    expect(body.links['misclassified']).toBe(`/v1/models/${id}/misclassified.png`);
    const list = await api.json<{ models: Record<string, unknown>[] }>('GET', '/v1/models');
    expect(list.body.models.find((m) => m['id'] === id)).not.toHaveProperty('evaluation');
  });

  it('serves the misclassified test images as one PNG, each where the manifest says, up to 3 per true class', async () => {
    const { body } = await api.json<{ evaluation: ModelEvaluation }>('GET', `/v1/models/${id}`);
    const { examples, tileSize } = body.evaluation.misclassified;
    const wrong = body.evaluation.confusionMatrix.map((row, t) => row.reduce((s, v, p) => s + (p === t ? 0 : v), 0));
    const perClass = new Map<string, number>();
    for (const e of examples) perClass.set(e.trueClass, (perClass.get(e.trueClass) ?? 0) + 1);
    for (const [t, n] of wrong.entries()) expect(perClass.get(String(t)) ?? 0).toBe(Math.min(3, n));
    for (const e of examples) expect(e.predictedClass).not.toBe(e.trueClass);

    const res = await fetch(`${api.base}/v1/models/${id}/misclassified.png`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
    expect(png.width).toBe(3 * tileSize[1]);
    expect(png.height).toBe(perClass.size * tileSize[0]);
    // Each example is the test image at its index (grey, 0..1 digits scaled to 0..255).
    const { test } = await digits(1, 300);
    for (const e of examples) {
      for (const [dy, dx] of [[14, 14], [10, 17], [20, 9]] as const) {
        const expected = Math.round(test.images[e.index * 784 + dy * 28 + dx]! * 255);
        expect(png.data[4 * ((e.y + dy) * png.width + e.x + dx)]).toBeCloseTo(expected, -1);
      }
    }
  });

  it('is absent for a model saved without one, and its images are a 404 problem', async () => {
    const { body } = await api.json<Record<string, unknown>>('GET', '/v1/models/unevaluated');
    expect(body).not.toHaveProperty('evaluation');
    const res = await api.json('GET', '/v1/models/unevaluated/misclassified.png');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });
});
