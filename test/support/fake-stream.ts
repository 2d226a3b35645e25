/**
 * An in-memory stream for fast lease-layer tests: shards are arrays of
 * records; readers follow them from a checkpoint like GetRecords does; a
 * syncer creates one lease per shard. Processors record, per shard, when they
 * were active, so tests can prove that no two workers processed one shard at
 * the same time.
 */
import { compareCheckpoints, newLease, type Checkpoint } from '../../src/lease/lease.js';
import type { LeaseStore } from '../../src/lease/lease-store.js';
import type { RecordCheckpointer, ShardBatch, ShardReader, ShardReaderFactory, ShardRecordProcessor, StreamRecord } from '../../src/lease/record-processor.js';
import type { ShardSyncer } from '../../src/lease/shard-sync.js';

export class FakeStream {
  readonly shards = new Map<string, StreamRecord[]>();
  private nextSequence = 1000n;

  constructor(shardCount: number) {
    for (let i = 0; i < shardCount; i++) this.shards.set(`shardId-${String(i).padStart(12, '0')}`, []);
  }

  append(perShard: number): void {
    for (const records of this.shards.values()) {
      for (let i = 0; i < perShard; i++) {
        records.push({ data: new Uint8Array([1]), sequenceNumber: String(this.nextSequence++), partitionKey: 'k', approximateArrivalMs: Date.now() });
      }
    }
  }

  get total(): number {
    return [...this.shards.values()].reduce((n, r) => n + r.length, 0);
  }

  readerFactory(batchSize = 10): ShardReaderFactory {
    return ({ shardId, from }) => {
      const records = this.shards.get(shardId) ?? [];
      let position = records.findIndex((r) => compareCheckpoints({ sequenceNumber: r.sequenceNumber, subSequenceNumber: 0 }, from) > 0);
      if (position < 0) position = from.sequenceNumber === 'TRIM_HORIZON' ? 0 : records.length;
      const reader: ShardReader = {
        async read(signal) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          if (signal.aborted) return { records: [], millisBehindLatest: 0 };
          const batch = records.slice(position, position + batchSize);
          position += batch.length;
          return { records: batch, millisBehindLatest: records.length - position };
        },
        close() {},
      };
      return reader;
    };
  }

  syncer(store: LeaseStore): Pick<ShardSyncer, 'sync' | 'createChildLeases'> {
    return {
      sync: async () => {
        let created = 0;
        for (const shardId of this.shards.keys()) if (await store.createLeaseIfNotExists(newLease({ shardId }, 'TRIM_HORIZON'))) created++;
        return { shards: this.shards.size, created, deleted: 0 };
      },
      createChildLeases: async () => {},
    };
  }
}

export interface ActivitySpan {
  readonly workerId: string;
  readonly shardId: string;
  readonly start: number;
  end: number | undefined;
}

/** Records processed per (shard, sequence number), and who was active on which shard when. */
export class ProcessingLedger {
  readonly spans: ActivitySpan[] = [];
  readonly processed = new Map<string, number>();
  readonly checkpointErrors: { workerId: string; code: unknown }[] = [];

  processorFactory(workerId: string, options: { blockWhile?: () => boolean } = {}): (shardId: string) => ShardRecordProcessor {
    return (shardId) => {
      let span: ActivitySpan | undefined;
      const end = (): void => { if (span && span.end === undefined) span.end = performance.now(); };
      const { spans, processed, checkpointErrors } = this;
      let last: string | undefined;
      return {
        async initialize() {
          end();
          span = { workerId, shardId, start: performance.now(), end: undefined };
          spans.push(span);
        },
        async processRecords(batch: ShardBatch, checkpointer: RecordCheckpointer) {
          while (options.blockWhile?.()) await new Promise((resolve) => setTimeout(resolve, 20));
          for (const r of batch.records) processed.set(r.sequenceNumber, (processed.get(r.sequenceNumber) ?? 0) + 1);
          last = batch.records.at(-1)?.sequenceNumber ?? last;
          if (last) {
            try {
              await checkpointer.checkpoint(last);
            } catch (error) {
              checkpointErrors.push({ workerId, code: (error as { code?: unknown }).code });
              throw error;
            }
          }
        },
        async leaseLost() { end(); },
        async shardEnded() { end(); },
        async shutdownRequested(_input, checkpointer) {
          if (last) await checkpointer.checkpoint(last);
          end();
        },
      };
    };
  }

  /** Pairs of spans of different workers on one shard that overlap in time. */
  overlaps(): [ActivitySpan, ActivitySpan][] {
    const result: [ActivitySpan, ActivitySpan][] = [];
    for (const a of this.spans) {
      for (const b of this.spans) {
        if (a === b || a.shardId !== b.shardId || a.workerId >= b.workerId) continue;
        const aEnd = a.end ?? Number.POSITIVE_INFINITY;
        const bEnd = b.end ?? Number.POSITIVE_INFINITY;
        if (a.start < bEnd && b.start < aEnd) result.push([a, b]);
      }
    }
    return result;
  }

  get duplicates(): number {
    let n = 0;
    for (const count of this.processed.values()) n += count - 1;
    return n;
  }
}

export function checkpointOf(sequenceNumber: string): Checkpoint {
  return { sequenceNumber, subSequenceNumber: 0 };
}
