import { createHash } from 'node:crypto';
import type { SolverState } from './optimizers.js';
import type { ProgressRecord } from './train.js';

/**
 * Everything a run needs to go on from where it stood after an iteration as if it had never
 * stopped: the model's weights (batch-norm moving statistics and input normalisation included),
 * the solver's moments, where it was in which data order, its generators' states, and the
 * validation-patience count. The schedule's position follows from the epoch.
 */
export interface TrainingCheckpoint {
  seed: number;
  /** Iterations done in all. */
  iteration: number;
  /** The epoch the run was in, and how many of its iterations were done (all of them at an epoch's end). */
  epoch: number;
  iterationInEpoch: number;
  trainingSeconds: number;
  /** The epoch's data order; null when reading in stored order (shuffle 'never'). */
  order: Int32Array | null;
  random: { shuffler: number; dropout: number; augmenter: number | null };
  /** Null until a validation happened (Infinity has no JSON). */
  bestValidationLoss: number | null;
  validationsWithoutImprovement: number;
  last: ProgressRecord | null;
  /** Every weight of the model, in the model's order. */
  weights: Float32Array[];
  solver: SolverState;
}

/** The checkpoint as its two stored objects: JSON for the state (with the tensors' checksum) and the tensors' bytes. */
export interface EncodedCheckpoint {
  state: string;
  tensors: Uint8Array;
}

/** A checkpoint that does not decode: truncated, altered, or of another format. */
export class CorruptCheckpoint extends Error {
  /** What is wrong with it, as a short sentence a job's events can carry ("its tensors are truncated: ..."). */
  readonly reason: string;

  constructor(reason: string) {
    super(`the checkpoint is corrupt: ${reason}`);
    this.name = 'CorruptCheckpoint';
    this.reason = reason;
  }
}

const formatVersion = 1;

type Section = 'order' | 'weight' | 'first' | 'second';

interface StoredState extends Omit<TrainingCheckpoint, 'order' | 'weights' | 'solver'> {
  formatVersion: number;
  solverSteps: number;
  /** How many learnables the solver's moments are for (those without moments have no section). */
  learnables: number;
  /** Each array in the tensors' bytes, in order: what it is, for which index, and how many values. */
  sections: { section: Section; index: number; length: number }[];
  sha256: string;
  bytes: number;
}

export function encodeCheckpoint(checkpoint: TrainingCheckpoint): EncodedCheckpoint {
  const { order, weights, solver, ...rest } = checkpoint;
  const arrays: { section: Section; index: number; values: Float32Array | Int32Array }[] = [
    ...(order ? [{ section: 'order' as const, index: 0, values: order }] : []),
    ...weights.map((values, index) => ({ section: 'weight' as const, index, values })),
    ...moments('first', solver.first),
    ...moments('second', solver.second),
  ];
  const bytes = arrays.reduce((n, a) => n + a.values.byteLength, 0);
  const tensors = new Uint8Array(bytes);
  let at = 0;
  for (const { values } of arrays) {
    tensors.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    at += values.byteLength;
  }
  const state: StoredState = {
    ...rest,
    formatVersion,
    solverSteps: solver.steps,
    learnables: solver.first.length,
    sections: arrays.map(({ section, index, values }) => ({ section, index, length: values.length })),
    sha256: sha256(tensors),
    bytes,
  };
  return { state: JSON.stringify(state), tensors };
}

/** Decodes what encodeCheckpoint wrote; CorruptCheckpoint when the bytes are not what the state says they are. */
export function decodeCheckpoint(encoded: EncodedCheckpoint): TrainingCheckpoint {
  let state: StoredState;
  try {
    state = JSON.parse(encoded.state) as StoredState;
  } catch {
    throw new CorruptCheckpoint('its state is not JSON');
  }
  if (state.formatVersion !== formatVersion) throw new CorruptCheckpoint(`format ${String(state.formatVersion)} is not ${formatVersion}`);
  const { tensors } = encoded;
  if (tensors.byteLength < state.bytes) throw new CorruptCheckpoint(`its tensors are truncated: ${tensors.byteLength} of their ${state.bytes} bytes`);
  if (tensors.byteLength > state.bytes) throw new CorruptCheckpoint(`its tensors hold ${tensors.byteLength} bytes, not ${state.bytes}`);
  if (sha256(tensors) !== state.sha256) throw new CorruptCheckpoint('its tensors do not match their checksum');
  // Copied into a buffer of its own (a Buffer's slice() would share its pool): the arrays must start at offset 0 and be aligned.
  const copy = new Uint8Array(tensors.byteLength);
  copy.set(tensors);
  const { sections, sha256: _sum, bytes: _bytes, formatVersion: _version, solverSteps, learnables, ...rest } = state;
  let order: Int32Array | null = null;
  const weights: Float32Array[] = [];
  const first: (Float32Array | null)[] = [];
  const second: (Float32Array | null)[] = [];
  let at = 0;
  for (const { section, index, length } of sections) {
    if (section === 'order') order = new Int32Array(copy.buffer, at, length);
    else (section === 'weight' ? weights : section === 'first' ? first : second)[index] = new Float32Array(copy.buffer, at, length);
    at += length * 4;
  }
  const filled = (a: (Float32Array | null)[], length: number) => Array.from({ length }, (_, k) => a[k] ?? null);
  if (weights.length === 0 || filled(weights, weights.length).includes(null)) throw new CorruptCheckpoint('its weights are missing');
  return { ...rest, order, weights, solver: { steps: solverSteps, first: filled(first, learnables), second: filled(second, learnables) } };
}

function moments(section: 'first' | 'second', values: (Float32Array | null)[]): { section: Section; index: number; values: Float32Array }[] {
  return values.flatMap((v, index) => (v ? [{ section, index, values: v }] : []));
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
