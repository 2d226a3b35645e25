/**
 * The pipeline benchmark's structured-clone comparison worker (piscina). It
 * runs the same batch processor as src/workers/worker-entry.ts, but a batch
 * arrives the naive way: the StreamRecord objects themselves, each record's
 * Uint8Array structured-cloned (no transferList), and the result goes back
 * cloned too (no Piscina.move). The processor takes a packed task, so this
 * worker packs the records itself: one copy of the payloads, the copy the
 * main thread makes in the real path. Not used by the pipeline.
 */
import { Piscina } from 'piscina';
import type { StreamRecord } from '../src/lease/record-processor.js';
import { packBatch } from '../src/pipeline/pack.js';
import { compileFingerprinter } from '../src/workers/fingerprint/fingerprint.js';
import { compileBatchProcessor } from '../src/workers/process-batch.js';
import type { BatchResult } from '../src/workers/protocol.js';
import type { WorkerData } from '../src/workers/worker-entry.js';

export interface ClonedBatch {
  readonly shardId: string;
  readonly records: readonly StreamRecord[];
}

const data = Piscina.workerData as WorkerData;
const processBatch = compileBatchProcessor(data.settings, compileFingerprinter(data.fingerprint));

export default function runClonedBatch(batch: ClonedBatch): BatchResult {
  return processBatch(packBatch(batch.shardId, batch.records).task);
}
