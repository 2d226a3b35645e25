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
  /** Chaos runs only: a shared counter of batches whose thread is to die before it returns their result. */
  readonly crashes?: SharedArrayBuffer;
}

const data = Piscina.workerData as WorkerData;
const processBatch = compileBatchProcessor(data.settings, compileFingerprinter(data.fingerprint));
const crashes = data.crashes === undefined ? undefined : new Int32Array(data.crashes);

export default function runBatch(task: BatchTask): BatchResult {
  if (task.started !== undefined) Atomics.store(task.started, 0, 1);
  const processed = processBatch(task);
  // The batch's work is done and its result not yet returned: the thread dies mid-batch.
  if (crashes !== undefined && Atomics.load(crashes, 0) > 0 && Atomics.sub(crashes, 0, 1) > 0) process.exit(1);
  const result: BatchResult = { ...processed, packed: task.buffer };
  const movable = {
    [Piscina.transferableSymbol]: [result.archive.buffer, task.buffer],
    [Piscina.valueSymbol]: result,
  };
  return Piscina.move(movable as unknown as ArrayBuffer) as unknown as BatchResult;
}
