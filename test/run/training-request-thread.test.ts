import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { trainingRequestProblemsInThread, validateTrainingRequest, type DataShape } from '../../src/run/training-request.js';
import { heaviestJobBody } from '../helpers/heavy-requests.js';

/** The API validates large networks in a thread: its answer must be the one validateTrainingRequest gives on the loop. */
const config = loadConfig({ DATA_DIR: '/nonexistent', REDIS_URL: 'redis://127.0.0.1:6379', TRAINYARD_BACKEND: 'wasm' });
const digits: DataShape = { name: 'digits', size: [28, 28, 1], classes: 10 };

function onTheLoop(request: { network: unknown; options?: unknown }, data: DataShape | null): unknown[] {
  const validated = validateTrainingRequest(request, data, config);
  return validated.ok ? [] : validated.problems;
}

describe('trainingRequestProblemsInThread', () => {
  it('finds no problem in a valid heavy job, as on the loop', async () => {
    const request = JSON.parse(heaviestJobBody(config)) as { network: unknown; options?: unknown };
    expect(onTheLoop(request, digits)).toEqual([]);
    expect(await trainingRequestProblemsInThread(request, digits, config)).toEqual([]);
  });

  it('reports the same problems, paths and messages as on the loop', async () => {
    const layers: unknown[] = [{ type: 'imageInput', inputSize: [32, 32, 3] }];
    for (let i = 0; i < 40; i++) layers.push(i % 3 === 0 ? { type: 'custom', name: `c${i}`, forward: `x * (` } : { type: 'relu', extra: i });
    layers.push({ type: 'fullyConnected', outputSize: 7 }, { type: 'softmax' }, { type: 'classification' });
    const request = { network: { layers }, options: { miniBatchSize: -1, solver: 'nope' } };
    const expected = onTheLoop(request, digits);
    expect(expected.length).toBeGreaterThan(10);
    expect(await trainingRequestProblemsInThread(request, digits, config)).toEqual(expected);
    expect(await trainingRequestProblemsInThread({ network: { layers: layers.slice(0, 30) } }, null, config)).toEqual(onTheLoop({ network: { layers: layers.slice(0, 30) } }, null));
  });
});
