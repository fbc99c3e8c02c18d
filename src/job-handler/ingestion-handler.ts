import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Config } from '../config.js';
import { ingestArchive } from '../data/ingest/ingest.js';
import { ingestLimits } from '../data/ingest/limits.js';
import { IngestError } from '../data/ingest/skips.js';
import { summarize, type DatasetProgress, type DatasetRecords } from '../queue/dataset-records.js';
import type { IngestionContext, IngestionHandler } from '../queue/ingestion-queue.js';
import { PublicationRefused } from '../store/blob-store.js';
import type { DatasetStore } from '../store/datasets.js';
import type { UploadStore } from '../store/uploads.js';
import { ProgressPublisher } from './progress-publisher.js';

/** What a failed dataset says when the cause is ours, not the archive's (the cause is logged). */
export const unexpectedIngestionFailure = 'the dataset could not be ingested because of an error on the server; it has been logged: upload it again, and report it if it fails again';

export interface IngestionParts {
  records: DatasetRecords;
  uploads: UploadStore;
  datasets: DatasetStore;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * Ingests one uploaded dataset on a worker: the upload is copied to a temporary file (archives are
 * read with random access), converted into the dataset store through a writer fenced by the
 * attempt, with throttled progress events, then the record becomes ready, or failed with
 * IngestError's sentence (a generic one for anything else, which is logged). The upload is dropped
 * once the dataset is ready or failed, never before: a later attempt may still need it.
 */
export function ingestionHandler(config: Config, parts: IngestionParts): IngestionHandler {
  const { records, uploads, datasets, log } = parts;
  const limits = ingestLimits(config);

  const finish = async (id: string, recorded: Promise<boolean>) => {
    if (await recorded) await uploads.delete(id);
  };

  return {
    async ingest({ id, attempt, holds, signal }: IngestionContext): Promise<void> {
      const record = await records.get(id);
      if (!record) return;
      const work = await mkdtemp(path.join(tmpdir(), 'trainyard-upload-'));
      const publisher = new ProgressPublisher<DatasetProgress>(
        async (progress) => void (await records.progress(id, attempt, progress)),
        config.events.progressIntervalMs,
        undefined,
        (progress) => progress.read === progress.total,
      );
      try {
        const upload = await uploads.get(id);
        if (!upload) throw new Error(`dataset ${id} has no upload`);
        const archive = path.join(work, 'archive');
        await pipeline(upload, createWriteStream(archive), { signal });
        const { tenant, name, createdAt, options } = record;
        const manifest = await ingestArchive(archive, datasets.writer(id, { attempt, holds }), {
          limits,
          ...options,
          identity: { id, name, tenant, createdAt },
          onProgress: (progress) => publisher.offer(progress),
          signal,
        });
        await publisher.flush();
        await finish(id, records.ready(id, attempt, summarize(manifest)));
      } catch (err) {
        await publisher.flush().catch(() => {});
        // A later attempt owns the dataset now, or will (the worker shuts down and hands it back):
        // that attempt records the outcome and drops the upload.
        if (err instanceof PublicationRefused || signal.aborted) return;
        if (err instanceof IngestError) return finish(id, records.fail(id, attempt, err.message));
        log.error({ datasetId: id, attempt, err: err instanceof Error ? err.stack : String(err) }, 'ingestion failed unexpectedly');
        await finish(id, records.fail(id, attempt, unexpectedIngestionFailure));
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },

    async abandon(id: string): Promise<void> {
      await finish(id, records.fail(id, null, unexpectedIngestionFailure));
    },
  };
}
