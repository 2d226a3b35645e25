/**
 * The record-processor contract between the lease layer and whatever processes
 * records (the pipeline implements it; src/lease never imports src/pipeline).
 * One processor instance per shard lease, driven by a ShardConsumer through
 * the lifecycle KCL users know:
 *
 *   initialize -> processRecords* -> (shardEnded | leaseLost | shutdownRequested)
 *
 * Every callback is awaited before the next read: processing is backpressure.
 */
import type { Checkpoint } from './lease.js';

/** A Kinesis record as the lease layer hands it on (fields of GetRecords' Record). */
export interface StreamRecord {
  readonly data: Uint8Array;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly approximateArrivalMs: number | undefined;
}

export interface ShardBatch {
  readonly shardId: string;
  readonly records: readonly StreamRecord[];
  /** How far behind the tip of the shard this batch is, per GetRecords. */
  readonly millisBehindLatest: number | undefined;
}

export interface RecordCheckpointer {
  /** The last checkpoint written for this shard (or its start position). */
  readonly lastCheckpoint: Checkpoint;
  /**
   * Records that everything up to and including this position is done.
   * Forward-only (an older position is ignored); fenced: throws a
   * LeaseLostError (code CALI_ERR_LEASE_LOST, not retriable) once the lease is gone.
   */
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
}

export interface ShardRecordProcessor {
  initialize(input: { shardId: string; startingCheckpoint: Checkpoint }): Promise<void>;
  processRecords(batch: ShardBatch, checkpointer: RecordCheckpointer): Promise<void>;
  /** The lease is gone: stop at once; checkpointing is no longer possible. */
  leaseLost(input: { shardId: string }): Promise<void>;
  /** Every record of the shard was delivered: finish, then checkpoint (the consumer writes SHARD_END). */
  shardEnded(input: { shardId: string; childShardIds: readonly string[] }, checkpointer: RecordCheckpointer): Promise<void>;
  /** Shutdown or planned handoff: finish in-flight work and checkpoint it; the lease is then released. */
  shutdownRequested(input: { shardId: string }, checkpointer: RecordCheckpointer): Promise<void>;
}

export type ShardRecordProcessorFactory = (shardId: string) => ShardRecordProcessor;

/** Where a shard's records come from (Kinesis in production; the pipeline's fetcher). */
export interface ShardReader {
  /** The next batch; `childShardIds` set once the shard is closed and fully read. */
  read(signal: AbortSignal): Promise<ShardReadResult>;
  close(): void;
}

export interface ChildShard {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  readonly startingHashKey?: string | undefined;
  readonly endingHashKey?: string | undefined;
}

export interface ShardReadResult {
  readonly records: readonly StreamRecord[];
  readonly millisBehindLatest: number | undefined;
  /** Present when the reader reached the end of a closed shard: the shards that replace it. */
  readonly childShards?: readonly ChildShard[];
}

export type ShardReaderFactory = (input: { shardId: string; from: Checkpoint; atTimestampMs?: number }) => ShardReader;
