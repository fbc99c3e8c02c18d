import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, seedNetwork, serviceEnv, type ServiceEnv } from '../helpers/service.js';
import { saveTestModel } from '../helpers/models.js';

/** The API with no worker (jobs stay queued), and models saved straight into its store. */
let env: ServiceEnv;
let api: Api;
beforeAll(async () => {
  env = await serviceEnv('initial-model', process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  api = await Api.start(env.config);
  await saveTestModel(env.dataDir, 'parent', { jobId: 'parent-job' });
  await saveTestModel(env.dataDir, 'theirs', { tenant: 'someone-else' });
});
afterAll(async () => {
  await api.close();
  await env.cleanup();
});

const errorsOf = (body: object) => (body as { errors: { path: string; message: string }[] }).errors;

/** The seed network with its fully connected layer replaced by one of another name (transfer learning's new head). */
const transferNetwork = {
  layers: seedNetwork.layers.map((layer) => (layer.type === 'fullyConnected' ? { ...layer, name: 'fc_new', weightLearnRateFactor: 10 } : layer)),
};

describe('POST /v1/jobs with initialModel', () => {
  it("queues a job starting from one of the tenant's models, its record saying which layers take the model's weights and why the others do not", async () => {
    const res = await api.submit({ network: transferNetwork, dataset: 'digits', initialModel: 'parent' });
    expect(res.status).toBe(202);
    const expected = {
      id: 'parent',
      name: null,
      layersFromModel: ['conv_1', 'batchnorm_1', 'elu_1'],
      layersNotFromModel: [{ layer: 'fc_new', reason: 'not in the model' }],
    };
    expect(res.body.initialModel).toEqual(expected);
    expect((await api.json('GET', `/v1/jobs/${res.body.id}`)).body).toMatchObject({ initialModel: expected });
    const plain = await api.submit({ network: seedNetwork, dataset: 'digits' });
    expect(plain.body.initialModel).toBeNull();
  });

  it("answers 400 naming initialModel for a missing model, another tenant's (as missing), and a network with no layer in common", async () => {
    for (const id of ['nope', 'theirs', '../parent']) {
      const res = await api.submit({ network: seedNetwork, dataset: 'digits', initialModel: id });
      expect(res.status).toBe(400);
      expect(errorsOf(res.body)).toEqual([{ path: 'initialModel', message: `initialModel: there is no model '${id}' (it must be one of your models: GET /v1/models lists them)` }]);
    }
    const renamed = { layers: seedNetwork.layers.map((layer, k) => ({ ...layer, name: `other_${k}` })) };
    const none = await api.submit({ network: renamed, dataset: 'digits', initialModel: 'parent' });
    expect(none.status).toBe(400);
    expect(errorsOf(none.body)).toEqual([
      {
        path: 'initialModel',
        message:
          "initialModel: none of the network's layers matches a layer of model 'parent' (same name, type and learnable sizes): " +
          'other_1: not in the model; other_2: not in the model; other_3: not in the model; other_4: not in the model',
      },
    ]);
  });

  it('lists the model problem with the network problems when both are wrong', async () => {
    const network = structuredClone(seedNetwork);
    network.layers[1] = { ...network.layers[1]!, weightLearnRateFactor: -1 };
    const res = await api.submit({ network, dataset: 'digits', initialModel: 'nope' });
    expect(res.status).toBe(400);
    expect(errorsOf(res.body).map((e) => e.path)).toEqual(['network.layers[1].weightLearnRateFactor', 'initialModel']);
  });
});
