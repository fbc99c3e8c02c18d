import { CorruptCheckpoint, decodeCheckpoint, encodeCheckpoint, type TrainingCheckpoint } from '../nn/checkpoint.js';
import type { InitialModelUse } from '../run/initial-model.js';
import { InvalidKey, isKeySegment, joinKey, readBlob, type BlobStore, type PublicationFence } from './blob-store.js';

/** A checkpoint as a job keeps it: the engine's state, and the job's last event when it was taken. */
export interface JobCheckpoint {
  checkpoint: TrainingCheckpoint;
  /** The job's last event when the checkpoint was taken: a resumed job reads what it reported after it. */
  lastEventId: string | null;
  /** How many times the job had resumed from a checkpoint when this one was taken (0 when absent). */
  resumes?: number;
  /** The model the run started from (absent: not recorded), kept so a resumed run needs no more than its checkpoint: that model may be gone by then. */
  initialModel?: InitialModelUse | null;
}

/** A checkpoint passed over because it did not decode: after which iteration it was taken, and what is wrong with it (a short sentence). */
export interface SkippedCheckpoint {
  iteration: number;
  reason: string;
}

/** What `latest` found: the newest checkpoint that decodes, and the newer ones that did not (newest first). */
export interface LatestCheckpoint {
  found: JobCheckpoint | null;
  skipped: SkippedCheckpoint[];
}

const stateFileName = 'state.json';
const tensorsFileName = 'tensors.bin';

/**
 * The training checkpoints of running jobs in a BlobStore, each a set
 * `<prefix>/<job id>.<iteration, zero-padded>` of state.json and tensors.bin, so a job's newest
 * sorts last. Flat rather than a folder per job: an object store keeps a folder's marker after its
 * last set goes, and a job's checkpoints must leave nothing behind. A checkpoint is published whole (fenced by the job's attempt: a stale attempt writes none)
 * and only then are the older ones beyond `keep` removed, so a failed write never costs the
 * previous one. The job's checkpoints are deleted when it ends; a paused job keeps them.
 */
export class CheckpointStore {
  constructor(
    private readonly blobs: BlobStore,
    private readonly keep = 2,
    private readonly prefix = 'checkpoints',
  ) {}

  async save(jobId: string, { checkpoint, lastEventId, resumes = 0, initialModel = null }: JobCheckpoint, fence?: PublicationFence): Promise<void> {
    const { state, tensors } = encodeCheckpoint(checkpoint);
    await this.blobs.putSet(
      this.setOf(jobId, checkpoint.iteration),
      [
        { name: tensorsFileName, body: tensors },
        // The state names the tensors' checksum and comes last: a set missing it is never taken for whole.
        { name: stateFileName, body: JSON.stringify({ lastEventId, resumes, initialModel, engine: state }) },
      ],
      fence ? { fence } : {},
    );
    const iterations = await this.iterationsOf(jobId);
    for (const old of iterations.slice(0, Math.max(0, iterations.length - this.keep))) await this.blobs.deleteSet(this.setOf(jobId, old));
  }

  /** The newest checkpoint that decodes; newer ones that do not (truncated, altered) are skipped and said so. */
  async latest(jobId: string): Promise<LatestCheckpoint> {
    const skipped: LatestCheckpoint['skipped'] = [];
    for (const iteration of (await this.iterationsOf(jobId)).reverse()) {
      try {
        return { found: await this.read(this.setOf(jobId, iteration)), skipped };
      } catch (err) {
        if (!(err instanceof CorruptCheckpoint)) throw err;
        skipped.push({ iteration, reason: err.reason });
      }
    }
    return { found: null, skipped };
  }

  /** The iteration of the job's newest checkpoint (whole or not: it is not read), 0 when it has none. */
  async newestIteration(jobId: string): Promise<number> {
    return (await this.iterationsOf(jobId)).at(-1) ?? 0;
  }

  /** Removes every checkpoint of the job (when it has ended). */
  async deleteAll(jobId: string): Promise<void> {
    for (const iteration of await this.iterationsOf(jobId)) await this.blobs.deleteSet(this.setOf(jobId, iteration));
  }

  /** The iterations the job has checkpoints of, in order. */
  private async iterationsOf(jobId: string): Promise<number[]> {
    if (!isKeySegment(jobId)) throw new InvalidKey(jobId);
    const names = await this.blobs.list(this.prefix);
    const own = `${jobId}.`;
    return names.flatMap((name) => (name.startsWith(own) && /^\d{12}$/.test(name.slice(own.length)) ? [Number(name.slice(own.length))] : [])).sort((a, b) => a - b);
  }

  private async read(set: string): Promise<JobCheckpoint> {
    const [state, tensors] = await Promise.all([this.blobs.get(joinKey(set, stateFileName)), this.blobs.get(joinKey(set, tensorsFileName))]);
    if (!state || !tensors) throw new CorruptCheckpoint(`its ${state ? tensorsFileName : stateFileName} is missing`);
    let stored: { lastEventId: string | null; resumes?: number; initialModel?: InitialModelUse | null; engine: string };
    try {
      stored = JSON.parse((await readBlob(state)).toString('utf8')) as typeof stored;
    } catch {
      throw new CorruptCheckpoint(`its ${stateFileName} is not JSON`);
    }
    return { lastEventId: stored.lastEventId, resumes: stored.resumes ?? 0, ...(stored.initialModel !== undefined ? { initialModel: stored.initialModel } : {}), checkpoint: decodeCheckpoint({ state: stored.engine, tensors: await readBlob(tensors) }) };
  }

  /** Zero-padded, so a job's names sort as its iterations do. */
  private setOf(jobId: string, iteration: number): string {
    const name = `${jobId}.${String(iteration).padStart(12, '0')}`;
    if (!isKeySegment(name)) throw new InvalidKey(jobId);
    return joinKey(this.prefix, name);
  }
}
