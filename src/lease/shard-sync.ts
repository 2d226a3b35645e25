/**
 * Shard sync: lists the stream's shards and keeps the lease table in step.
 *
 * - First sync (empty table): leases at the initial position. TRIM_HORIZON
 *   leases every shard in retention, parents included, so nothing is skipped;
 *   LATEST and AT_TIMESTAMP lease the shards open at that point (ShardFilter).
 * - Later: a shard without a lease gets one at TRIM_HORIZON if a parent has a
 *   lease (resharding; normally the parent's consumer created it at shard end
 *   already) or if it is open (a shard we never saw: read all of it rather
 *   than lose records). Closed shards from before our time are left alone.
 * - Cleanup: a lease at SHARD_END is deleted once every child has a lease that
 *   has started (checkpoint past its start position), so no child can be
 *   re-created from it and no ancestor check needs it anymore.
 *
 * Any number of workers may sync at once: creation is create-if-not-exists and
 * deletion is conditional on the counter, so correctness never depends on
 * who syncs; each worker syncs on its own timer with jitter.
 */
import { ListShardsCommand, type KinesisClient, type ListShardsCommandInput, type Shard } from '@aws-sdk/client-kinesis';
import type { InitialPosition } from './config.js';
import type { LeaseEventBus } from './events.js';
import { isSentinel, isShardEnd, newLease, type CheckpointSentinel, type Lease } from './lease.js';
import type { LeaseStore } from './lease-store.js';
import type { ChildShard } from './record-processor.js';

export interface ShardSyncResult {
  readonly shards: number;
  readonly created: number;
  readonly deleted: number;
}

function shardFilterFor(position: InitialPosition): ListShardsCommandInput['ShardFilter'] {
  switch (position.type) {
    case 'TRIM_HORIZON': return { Type: 'AT_TRIM_HORIZON' };
    case 'LATEST': return { Type: 'AT_LATEST' };
    case 'AT_TIMESTAMP': return { Type: 'AT_TIMESTAMP', Timestamp: new Date(position.timestampMs) };
  }
}

function parentsOf(shard: Shard): string[] {
  return [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => id !== undefined);
}

function describe(shard: Shard, parentShardIds: readonly string[]): ChildShard {
  return {
    shardId: shard.ShardId!,
    parentShardIds,
    startingHashKey: shard.HashKeyRange?.StartingHashKey,
    endingHashKey: shard.HashKeyRange?.EndingHashKey,
  };
}

const isOpen = (shard: Shard): boolean => shard.SequenceNumberRange?.EndingSequenceNumber === undefined;

/** A child lease has started once its checkpoint is a sequence number or SHARD_END. */
function hasStarted(lease: Lease): boolean {
  return isShardEnd(lease) || !isSentinel(lease.checkpoint.sequenceNumber);
}

export class ShardSyncer {
  constructor(
    private readonly kinesis: Pick<KinesisClient, 'send'>,
    private readonly streamName: string,
    private readonly store: LeaseStore,
    private readonly initialPosition: InitialPosition,
    private readonly events: LeaseEventBus,
  ) {}

  async listShards(filter?: ListShardsCommandInput['ShardFilter']): Promise<Shard[]> {
    const shards: Shard[] = [];
    let nextToken: string | undefined;
    do {
      // StreamName and NextToken are mutually exclusive in ListShards.
      const page = await this.kinesis.send(new ListShardsCommand(nextToken
        ? { NextToken: nextToken, MaxResults: 1000 }
        : { StreamName: this.streamName, MaxResults: 1000, ...(filter ? { ShardFilter: filter } : {}) }));
      shards.push(...(page.Shards ?? []));
      nextToken = page.NextToken;
    } while (nextToken);
    return shards;
  }

  async sync(): Promise<ShardSyncResult> {
    const started = performance.now();
    const { leases } = await this.store.listLeases();
    const byKey = new Map(leases.map((lease) => [lease.leaseKey, lease]));
    let created = 0;
    let shards: Shard[];
    if (leases.length === 0) {
      shards = await this.listShards(shardFilterFor(this.initialPosition));
      const listed = new Set(shards.map((s) => s.ShardId));
      const keepParents = this.initialPosition.type === 'TRIM_HORIZON';
      for (const shard of shards) {
        const parents = keepParents ? parentsOf(shard).filter((id) => listed.has(id)) : [];
        if (await this.create(describe(shard, parents), this.initialPosition.type)) created++;
      }
    } else {
      shards = await this.listShards();
      for (const shard of shards) {
        if (byKey.has(shard.ShardId!)) continue;
        const parents = parentsOf(shard);
        const leasedParents = parents.filter((id) => byKey.has(id));
        if (leasedParents.length > 0 || isOpen(shard)) {
          if (await this.create(describe(shard, leasedParents), 'TRIM_HORIZON')) created++;
        }
      }
    }
    const deleted = await this.cleanUp(leases);
    const result = { shards: shards.length, created, deleted };
    this.events.emit('shard_sync.completed', { ...result, durationMs: performance.now() - started });
    return result;
  }

  /** Leases for the children reported at shard end; the parent's consumer calls this before checkpointing SHARD_END. */
  async createChildLeases(children: readonly ChildShard[]): Promise<void> {
    for (const child of children) await this.create(child, 'TRIM_HORIZON');
  }

  private async create(shard: ChildShard, position: CheckpointSentinel): Promise<boolean> {
    const lease = newLease(shard, position);
    const made = await this.store.createLeaseIfNotExists(lease);
    if (made) this.events.emit('lease.created', { leaseKey: lease.leaseKey, parentShardIds: lease.parentShardIds });
    return made;
  }

  private async cleanUp(leases: readonly Lease[]): Promise<number> {
    const byKey = new Map(leases.map((lease) => [lease.leaseKey, lease]));
    const childrenOf = new Map<string, string[]>();
    for (const lease of leases) {
      for (const parent of lease.parentShardIds) childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), lease.leaseKey]);
    }
    let deleted = 0;
    for (const lease of leases) {
      if (!isShardEnd(lease)) continue;
      const children = lease.childShardIds.length > 0 ? lease.childShardIds : (childrenOf.get(lease.leaseKey) ?? []);
      if (children.length === 0) continue;
      const allStarted = children.every((id) => {
        const child = byKey.get(id);
        return child !== undefined && hasStarted(child);
      });
      if (allStarted && await this.store.deleteLease(lease)) {
        deleted++;
        this.events.emit('lease.deleted', { leaseKey: lease.leaseKey });
      }
    }
    return deleted;
  }
}
