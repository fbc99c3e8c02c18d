import { imageStatistics } from '../../src/data/image-statistics.js';
import { train } from '../../src/nn/train.js';
import { evaluationReport, misclassifiedSpriteName, testEvaluationOptions } from '../../src/run/evaluation-report.js';
import { trainingRecord } from '../../src/run/train-and-save.js';
import { ModelStore, type ModelManifest } from '../../src/store/models.js';
import { digits, network, options, seedNetworkJson } from './data.js';

/**
 * Trains the seed network briefly on a few digits, in this process, and saves it in a service's
 * model store as a job would (with its test evaluation unless `evaluated` is false), so API tests
 * have a model without running a worker.
 */
export async function saveTestModel(
  dataDir: string,
  id: string,
  {
    trainImages = 64,
    maxEpochs = 1,
    seed = 1,
    networkJson = seedNetworkJson,
    evaluated = true,
    ...extra
  }: { trainImages?: number; maxEpochs?: number; seed?: number; networkJson?: unknown; evaluated?: boolean } & Partial<Pick<ModelManifest, 'tenant' | 'jobId'>> = {},
): Promise<ModelManifest> {
  const data = await digits(trainImages, 10);
  const result = await train(network(networkJson), { source: data.source }, options({ miniBatchSize: 32, maxEpochs, seed }));
  try {
    const inputStatistics = await imageStatistics(data.source, 'train');
    const test = evaluated ? await result.classifier.evaluate(data.source, 'test', undefined, testEvaluationOptions([28, 28, 1])) : null;
    const report = test ? evaluationReport(test, result.classifier.classes, [28, 28, 1], inputStatistics) : null;
    const sprite = report?.sprite ? [{ name: misclassifiedSpriteName, body: report.sprite }] : [];
    return await ModelStore.inDataDir(dataDir).publish(result.classifier, {
      formatVersion: 1,
      id,
      createdAt: new Date().toISOString(),
      network: networkJson,
      classes: result.classifier.classes,
      inputSize: [28, 28, 1],
      normalization: { type: 'zerocenter', offsetShape: [28, 28, 1] },
      inputStatistics,
      training: trainingRecord(result, {
        options: {},
        dataset: 'digits',
        trainImages,
        backend: { name: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'cpu', reason: 'test' },
      }),
      metrics: {
        miniBatchLoss: result.last?.miniBatchLoss ?? null,
        miniBatchAccuracy: result.last?.miniBatchAccuracy ?? null,
        ...(test ? { testAccuracy: test.accuracy, testLoss: test.loss } : {}),
      },
      ...(report ? { evaluation: report.evaluation } : {}),
      tenant: 'local',
      ...extra,
    }, undefined, sprite);
  } finally {
    result.classifier.dispose();
  }
}
