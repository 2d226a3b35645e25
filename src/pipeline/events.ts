/** The pipeline's event catalogue; metrics and logs listen, the pipeline only emits. One event per batch, never per record. */
import { EventEmitter } from 'node:events';
import type { IncidentCandidate } from '../workers/protocol.js';

export interface PipelineEvents {
  'batch.completed': [{
    shardId: string; records: number; subRecords: number; valid: number; invalid: number; durationMs: number;
    millisBehindLatest: number | undefined; firstSequenceNumber: string; lastSequenceNumber: string;
    /** Age of the batch's oldest record (Kinesis arrival) when both sinks had acked it: end-to-end latency. */
    oldestArrivalAgeMs: number | undefined;
    /** Sub-records fingerprinted, and the worker thread's time on the batch (from the result's BatchStats). */
    fingerprinted: number; workerBusyMs: number;
    /** Dead letters of the batch by reason code; undefined when there were none. */
    deadLetterReasons: Readonly<Record<string, number>> | undefined;
  }];
  /** A required sink failed a write; the batch is retried, the shard's checkpoint waits. */
  'sink.retry': [{ shardId: string; sink: string; error: string; attempt: number }];
  /** A sink that does not gate the checkpoint failed (or refused, being full); its lines of the batch were skipped. */
  'sink.skipped': [{ shardId: string; sink: string; error: string; lines: number }];
  'worker.crashed': [{ records: number; error: string }];
  /** piscina had stopped replacing dead threads; a new pool took over (see WorkerPool). */
  'worker.pool_replaced': [{ threads: number }];
  'incidents.detected': [{ shardId: string; candidates: readonly IncidentCandidate[] }];
  /** In-flight work of a shard was dropped because its lease was lost (nothing checkpointed). */
  'shard.cancelled': [{ shardId: string; inFlightBatches: number }];
}

export class PipelineEventBus extends EventEmitter<PipelineEvents> {}
