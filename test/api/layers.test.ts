import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/nn/custom/check.js';
import { Api, serviceEnv, type ServiceEnv } from '../helpers/service.js';

const elu = JSON.parse(readFileSync(new URL('../../examples/custom-elu-layer.json', import.meta.url), 'utf8')) as {
  backward: { x: string; alpha: string };
  [key: string]: unknown;
};

let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  env = await serviceEnv('layers', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  api = await Api.start(env.config);
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

const check = (body: unknown) => api.json<{ report: CheckReport; errors?: { path: string; message: string }[] }>('POST', '/v1/layers/check', body);

describe('POST /v1/layers/check', () => {
  it("passes the seed's ELU with its hand-written backward, reporting tolerance and worst errors per tensor", async () => {
    const res = await check({ layer: elu, inputSize: [24, 24, 20] });
    expect(res.status).toBe(200);
    const { report } = res.body;
    expect(report.summary.ok).toBe(true);
    expect(report.gradients).toBe('backward');
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['definition', 'pass'],
      ['forwardOneObservation', 'pass'],
      ['forwardSeveralObservations', 'pass'],
      ['outputSize', 'pass'],
      ['outputDtype', 'pass'],
      ['backwardSizes', 'pass'],
      ['gradientsNumericallyCorrect', 'pass'],
      ['backwardMatchesAutodiff', 'pass'],
      ['finiteForLargeInputs', 'pass'],
    ]);
    const numeric = report.checks.find((c) => c.name === 'gradientsNumericallyCorrect')!.details as { tolerance: unknown; tensors: { tensor: string }[] };
    expect(numeric.tolerance).toMatchObject({ relative: expect.any(Number), rule: expect.stringContaining('relative') });
    expect(numeric.tensors.map((t) => t.tensor)).toEqual(['x', 'alpha']);
  });

  it('fails a wrong backward and names the tensor: (1 + z) for (alpha + z), and dAlpha without the - 1', async () => {
    const wrongX = await check({ layer: { ...elu, backward: { ...elu.backward, x: 'dz * ((x > 0) + (1 + z) * (x <= 0))' } }, inputSize: [6, 6, 4] });
    const wrongAlpha = await check({ layer: { ...elu, backward: { ...elu.backward, alpha: 'sum(dz * exp(min(x, 0)), "spatial+batch")' } }, inputSize: [6, 6, 4] });
    for (const [res, tensor] of [[wrongX, 'x'], [wrongAlpha, 'alpha']] as const) {
      expect(res.status).toBe(200);
      expect(res.body.report.summary.ok).toBe(false);
      const failed = res.body.report.checks.find((c) => c.name === 'gradientsNumericallyCorrect')!;
      expect(failed.status).toBe('fail');
      expect(failed.message).toContain(tensor);
    }
  });

  it('answers 400 with the field and the column for every kind of bad expression', async () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ forward: 'x > 0 ? x : alpha * (exp(min(x, 0)) - 1' }, 'layer.forward', /column \d+/],
      [{ forward: 'x > 0 ? x : alpah * (exp(min(x, 0)) - 1)' }, 'layer.forward', /unknown name 'alpah' at column 13 \(known: x, alpha\)/],
      [{ forward: 'x > 0 ? x : alpha * (exp(min(x, 0, 1)) - 1)' }, 'layer.forward', /column \d+/],
      [{ forward: 'x > 0 ? x : alpha * (expo(min(x, 0)) - 1)' }, 'layer.forward', /column \d+/],
      [{ backward: { ...elu.backward, alpha: 'dz * (exp(min(x, 0)) - 1)' } }, 'layer.backward.alpha', /spatial\+batch/],
      [{ forward: `x${' + x'.repeat(3000)}` }, 'layer.forward', /long|length/],
      [{ forward: `${'('.repeat(200)}x${')'.repeat(200)}` }, 'layer.forward', /deep|depth|nest/],
    ];
    for (const [change, path, message] of cases) {
      const res = await check({ layer: { ...elu, ...change }, inputSize: [6, 6, 4] });
      expect(res.status, JSON.stringify(change).slice(0, 80)).toBe(400);
      const error = res.body.errors!.find((e) => e.path === path);
      expect(error?.message, JSON.stringify(res.body.errors)).toMatch(message);
    }
    expect((await check({ layer: elu, inputSize: [6, 6] })).status).toBe(400);
    expect((await check({ layer: elu, inputSize: [6, 6, 4], observations: 100 })).status).toBe(400);
    expect((await check({ layer: elu, inputSize: [6, 6, 4], extra: true })).status).toBe(400);
  });

  it('rejects a network with a bad custom layer before queueing, with the position', async () => {
    const network = JSON.parse(readFileSync(new URL('../../examples/seed-custom-elu.json', import.meta.url), 'utf8')) as { layers: Record<string, unknown>[] };
    const index = network.layers.findIndex((l) => l['type'] === 'custom');
    network.layers[index] = { ...network.layers[index], forward: 'x > 0 ? x : alpah' };
    const res = await api.json<{ errors: { path: string; message: string }[] }>('POST', '/v1/jobs', { network, dataset: 'digits' });
    expect(res.status).toBe(400);
    expect(res.body.errors).toContainEqual({ path: `network.layers[${index}].forward`, message: expect.stringMatching(/unknown name 'alpah' at column \d+/) });
  });
});
