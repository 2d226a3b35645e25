/**
 * A lease: the right to process one shard, as one item of the lease table in
 * the KCL 2.x schema (attribute names in ../../docs/leasing.md), so that an
 * operator who knows KCL can read the table.
 */

/** Named start positions and the end marker, stored in `checkpoint` as KCL does. */
export type CheckpointSentinel = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' | 'SHARD_END';

export const CHECKPOINT_SENTINELS: readonly CheckpointSentinel[] = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP', 'SHARD_END'];

/** Kinesis sequence numbers are decimal strings of up to 128 digits. */
const SEQUENCE_NUMBER = /^\d{1,128}$/;

export interface Checkpoint {
  /** A Kinesis sequence number, or a sentinel. */
  readonly sequenceNumber: string;
  /** Position inside a KPL-aggregated record; 0 for plain records. */
  readonly subSequenceNumber: number;
}

export interface Lease {
  /** The shard id. */
  readonly leaseKey: string;
  /** Worker id of the holder; undefined when nobody holds it. */
  readonly leaseOwner: string | undefined;
  /** Concurrency token: every write increments it; every conditional write expects it. */
  readonly leaseCounter: number;
  readonly checkpoint: Checkpoint;
  readonly ownerSwitchesSinceCheckpoint: number;
  readonly parentShardIds: readonly string[];
  readonly childShardIds: readonly string[];
  readonly startingHashKey?: string | undefined;
  readonly endingHashKey?: string | undefined;
  /**
   * CALI extension (KCL has no planned handoff in 2.x): a live worker asked the
   * owner to hand this lease over. The owner finishes and checkpoints its
   * in-flight work, then transfers the lease, so a planned move reprocesses nothing.
   */
  readonly pendingOwner?: string | undefined;
}

export function isSentinel(value: string): value is CheckpointSentinel {
  return (CHECKPOINT_SENTINELS as readonly string[]).includes(value);
}

export function isValidCheckpointValue(value: string): boolean {
  return isSentinel(value) || SEQUENCE_NUMBER.test(value);
}

export const SHARD_END: Checkpoint = { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 };

/** Rank of a checkpoint in processing order: start sentinels < sequence numbers < SHARD_END. */
function rank(value: string): number {
  if (value === 'SHARD_END') return 2;
  return isSentinel(value) ? 0 : 1;
}

/**
 * Orders two checkpoints of one shard: negative when `a` comes first. Sequence
 * numbers compare as unsigned decimal integers (length first, then digits).
 */
export function compareCheckpoints(a: Checkpoint, b: Checkpoint): number {
  const byRank = rank(a.sequenceNumber) - rank(b.sequenceNumber);
  if (byRank !== 0) return byRank;
  if (rank(a.sequenceNumber) === 1) {
    const x = a.sequenceNumber.replace(/^0+(?=\d)/, '');
    const y = b.sequenceNumber.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length - y.length;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.subSequenceNumber - b.subSequenceNumber;
}

export function isShardEnd(lease: Pick<Lease, 'checkpoint'>): boolean {
  return lease.checkpoint.sequenceNumber === 'SHARD_END';
}

/** A new, unowned lease for a shard found by shard sync. */
export function newLease(shard: {
  readonly shardId: string;
  readonly parentShardIds?: readonly string[];
  readonly startingHashKey?: string | undefined;
  readonly endingHashKey?: string | undefined;
}, initialPosition: CheckpointSentinel): Lease {
  return {
    leaseKey: shard.shardId,
    leaseOwner: undefined,
    leaseCounter: 0,
    checkpoint: { sequenceNumber: initialPosition, subSequenceNumber: 0 },
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: shard.parentShardIds ?? [],
    childShardIds: [],
    startingHashKey: shard.startingHashKey,
    endingHashKey: shard.endingHashKey,
  };
}
