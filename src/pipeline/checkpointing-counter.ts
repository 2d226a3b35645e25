/**
 * The simplest honest record processor: counts records and checkpoints after
 * every batch. `cali run` uses it until the record pipeline lands; tests of the
 * lease layer use it to see which worker processes which shard, and when.
 */
import type { RecordCheckpointer, ShardBatch, ShardRecordProcessor } from '../lease/record-processor.js';

export interface CounterEvents {
  /** First batch with records after this processor (re)started on a shard. */
  onFirstRecords?(shardId: string, firstSequenceNumber: string): void;
  onBatch?(shardId: string, records: number, firstSequenceNumber: string, lastSequenceNumber: string): void;
}

export class CheckpointingCounter implements ShardRecordProcessor {
  records = 0;
  private lastSequenceNumber: string | undefined;
  private started = false;

  constructor(private readonly events: CounterEvents = {}) {}

  async initialize(): Promise<void> {
    this.started = false;
  }

  async processRecords(batch: ShardBatch, checkpointer: RecordCheckpointer): Promise<void> {
    const last = batch.records.at(-1);
    if (!last) return;
    if (!this.started) {
      this.started = true;
      this.events.onFirstRecords?.(batch.shardId, batch.records[0]!.sequenceNumber);
    }
    this.records += batch.records.length;
    this.lastSequenceNumber = last.sequenceNumber;
    this.events.onBatch?.(batch.shardId, batch.records.length, batch.records[0]!.sequenceNumber, last.sequenceNumber);
    await checkpointer.checkpoint(last.sequenceNumber);
  }

  async leaseLost(): Promise<void> {}

  async shardEnded(_input: unknown, checkpointer: RecordCheckpointer): Promise<void> {
    if (this.lastSequenceNumber) await checkpointer.checkpoint(this.lastSequenceNumber);
  }

  async shutdownRequested(_input: unknown, checkpointer: RecordCheckpointer): Promise<void> {
    if (this.lastSequenceNumber) await checkpointer.checkpoint(this.lastSequenceNumber);
  }
}
