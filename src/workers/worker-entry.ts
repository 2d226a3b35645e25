/**
 * The piscina worker: compiles the batch processor once per thread from the
 * pool's workerData, then runs batches. The archive bytes are moved back to
 * the main thread, not cloned, and so is the task's packed buffer, which the
 * pool reuses. No I/O happens here.
 */
import { Piscina } from 'piscina';
import { compileFingerprinter } from './fingerprint/fingerprint.js';
import type { FingerprintConfig } from './fingerprint/config.js';
import { compileBatchProcessor } from './process-batch.js';
import type { BatchResult, BatchTask, WorkerSettings } from './protocol.js';

export interface WorkerData {
  readonly settings: WorkerSettings;
  readonly fingerprint: Partial<FingerprintConfig>;
}

const data = Piscina.workerData as WorkerData;
const processBatch = compileBatchProcessor(data.settings, compileFingerprinter(data.fingerprint));

export default function runBatch(task: BatchTask): BatchResult {
  const result: BatchResult = { ...processBatch(task), packed: task.buffer };
  const movable = {
    [Piscina.transferableSymbol]: [result.archive.buffer, task.buffer],
    [Piscina.valueSymbol]: result,
  };
  return Piscina.move(movable as unknown as ArrayBuffer) as unknown as BatchResult;
}
