/**
 * @module A job's `initialModel`: the tenant's trained model its network starts from (src/nn/initial-weights.ts).
 * The API checks it before queueing and the worker again before training (the model may have been
 * deleted since); both read the model through the model store, so it works on every backend.
 */
import type { Classifier } from '../nn/classifier.js';
import { matchLayers } from '../nn/initial-weights.js';
import { UserProblem, type Problem } from '../nn/problems.js';
import type { Network, NetworkLimits } from '../nn/spec.js';
import { validateNetworkOffLoop } from '../nn/validate-off-loop.js';
import { ModelUnreadable, type ModelManifest, type ModelStore } from '../store/models.js';

/** Which model a job starts from, and which of its network's layers take that model's weights (and why the others do not). */
export interface InitialModelUse {
  id: string;
  /** The model's name (its job's), or null when it has none. */
  name: string | null;
  layersFromModel: string[];
  layersNotFromModel: { layer: string; reason: string }[];
}

export type InitialModelCheck = { ok: true; use: InitialModelUse; manifest: ModelManifest } | { ok: false; problem: Problem };

const path = 'initialModel';

/**
 * Whether `network` can start from model `id` of `tenant`: the model must exist, be the tenant's
 * (another tenant's is answered as not existing; null: any, the command line on its own disk) and
 * share at least one layer with it.
 */
export async function checkInitialModel(models: ModelStore, id: string, tenant: string | null, network: Network): Promise<InitialModelCheck> {
  const found = await tenantModel(models, id, tenant);
  if ('problem' in found) return { ok: false, problem: found.problem };
  const { manifest } = found;
  const theirs = await validateNetworkOffLoop(manifest.network);
  if (!theirs.ok) return { ok: false, problem: { path, message: `initialModel: model '${id}''s network no longer validates, so no layer can start from it` } };
  const { taken, notTaken } = matchLayers(network, theirs.value);
  if (taken.length === 0) {
    const why = notTaken.map((n) => `${n.layer}: ${n.reason}`).join('; ');
    return {
      ok: false,
      problem: { path, message: `initialModel: none of the network's layers matches a layer of model '${id}' (same name, type and learnable sizes)${why ? `: ${why}` : ''}` },
    };
  }
  return { ok: true, manifest, use: { id, name: manifest.name ?? null, layersFromModel: taken, layersNotFromModel: notTaken } };
}

/**
 * The API's check of a request's initialModel before queueing. Its network may not validate (its
 * problems are reported apart): then only whether the model is there is checked, and `use` is null.
 */
export async function admitInitialModel(
  models: ModelStore,
  request: { network: unknown; initialModel: string },
  tenant: string,
  limits: NetworkLimits,
): Promise<{ ok: true; use: InitialModelUse | null } | { ok: false; problem: Problem }> {
  const network = await validateNetworkOffLoop(request.network, limits);
  if (network.ok) return checkInitialModel(models, request.initialModel, tenant, network.value);
  const found = await tenantModel(models, request.initialModel, tenant);
  return 'problem' in found ? { ok: false, problem: found.problem } : { ok: true, use: null };
}

async function tenantModel(models: ModelStore, id: string, tenant: string | null): Promise<{ manifest: ModelManifest } | { problem: Problem }> {
  const manifest = await models.manifest(id).catch(() => null);
  if (manifest && (tenant === null || (manifest.tenant ?? '') === tenant)) return { manifest };
  return { problem: { path, message: `initialModel: there is no model '${id}' (it must be one of your models: GET /v1/models lists them)` } };
}

/** The model a run starts from: which layers take its weights, and (unless the run resumes) the model itself, to dispose after training. */
export interface StartingModel {
  use: InitialModelUse;
  model: Classifier | null;
}

/**
 * The initial model of whoever trains (the worker, the command line), checked again as the API
 * did before queueing: it may have been deleted since (the API saw it), or be unreadable; a
 * UserProblem then says so.
 */
export async function startingModel(models: ModelStore, id: string, tenant: string | null, network: Network, withWeights: boolean): Promise<StartingModel> {
  const check = await checkInitialModel(models, id, tenant, network);
  if (!check.ok) throw new UserProblem({ title: 'Initial model not usable', detail: check.problem.message, problems: [check.problem] });
  if (!withWeights) return { use: check.use, model: null };
  try {
    const loaded = await models.load(id);
    if (!loaded) throw new ModelUnreadable(id, 'it was deleted as the run started', 'train from another model');
    return { use: check.use, model: loaded.classifier };
  } catch (err) {
    if (err instanceof ModelUnreadable) throw new UserProblem({ title: 'Initial model not usable', detail: `initialModel: ${err.message}`, problems: [{ path, message: err.message }] }, { cause: err });
    throw err;
  }
}
