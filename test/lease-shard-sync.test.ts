import type { KinesisClient, ListShardsCommand, ListShardsCommandOutput, Shard } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { compileLeaseConfig, type InitialPosition } from '../src/lease/config.js';
import { LeaseEventBus } from '../src/lease/events.js';
import { HeldLease, LeaseLostError } from '../src/lease/held-lease.js';
import { newLease, SHARD_END } from '../src/lease/lease.js';
import { MemoryLeaseStore } from '../src/lease/memory-lease-store.js';
import { ShardSyncer } from '../src/lease/shard-sync.js';

const id = (n: number): string => `shardId-${String(n).padStart(12, '0')}`;
const shard = (n: number, options: { parents?: number[]; closed?: boolean } = {}): Shard => ({
  ShardId: id(n),
  ParentShardId: options.parents?.[0] === undefined ? undefined : id(options.parents[0]),
  AdjacentParentShardId: options.parents?.[1] === undefined ? undefined : id(options.parents[1]),
  HashKeyRange: { StartingHashKey: '0', EndingHashKey: '340282366920938463463374607431768211455' },
  SequenceNumberRange: { StartingSequenceNumber: '1', ...(options.closed ? { EndingSequenceNumber: '99' } : {}) },
});

/** ListShards over `all` (paged by 2), honouring AT_LATEST / AT_TIMESTAMP filters as "open shards only". */
function fakeKinesis(all: () => Shard[]) {
  const requests: ListShardsCommand['input'][] = [];
  const client = {
    send: async (command: ListShardsCommand): Promise<ListShardsCommandOutput> => {
      requests.push(command.input);
      const filter = command.input.ShardFilter?.Type;
      const visible = all().filter((s) => filter === 'AT_LATEST' || filter === 'AT_TIMESTAMP' ? s.SequenceNumberRange?.EndingSequenceNumber === undefined : true);
      const start = command.input.NextToken ? Number(command.input.NextToken) : 0;
      const page = visible.slice(start, start + 2);
      return { Shards: page, NextToken: start + 2 < visible.length ? String(start + 2) : undefined, $metadata: {} };
    },
  } as unknown as Pick<KinesisClient, 'send'>;
  return { client, requests };
}

async function syncWith(position: InitialPosition, shards: Shard[]) {
  const store = new MemoryLeaseStore();
  const kinesis = fakeKinesis(() => shards);
  const syncer = new ShardSyncer(kinesis.client, 'logs', store, position, new LeaseEventBus());
  const result = await syncer.sync();
  const { leases } = await store.listLeases();
  return { store, syncer, kinesis, result, leases: new Map(leases.map((l) => [l.leaseKey, l])) };
}

describe('shard sync', () => {
  const history = [shard(0, { closed: true }), shard(1, { closed: true }), shard(2, { parents: [0] }), shard(3, { parents: [0] }), shard(4, { parents: [1] })];

  it('TRIM_HORIZON: leases every shard in retention with its parents, across pages', async () => {
    const { leases, kinesis, result } = await syncWith({ type: 'TRIM_HORIZON' }, history);
    expect(result).toEqual({ shards: 5, created: 5, deleted: 0 });
    expect(leases.get(id(2))?.parentShardIds).toEqual([id(0)]);
    expect(leases.get(id(0))?.checkpoint.sequenceNumber).toBe('TRIM_HORIZON');
    expect(kinesis.requests[0]).toMatchObject({ StreamName: 'logs', ShardFilter: { Type: 'AT_TRIM_HORIZON' } });
    expect(kinesis.requests.slice(1).every((r) => r.NextToken !== undefined && r.StreamName === undefined)).toBe(true);
  });

  it('LATEST and AT_TIMESTAMP: only the shards open at that point, at that position, without parents', async () => {
    const latest = await syncWith({ type: 'LATEST' }, history);
    expect([...latest.leases.keys()].sort()).toEqual([id(2), id(3), id(4)]);
    expect([...latest.leases.values()].every((l) => l.checkpoint.sequenceNumber === 'LATEST' && l.parentShardIds.length === 0)).toBe(true);
    expect(latest.kinesis.requests[0]?.ShardFilter).toEqual({ Type: 'AT_LATEST' });
    const at = await syncWith({ type: 'AT_TIMESTAMP', timestampMs: Date.parse('2026-11-29T10:00:00Z') }, history);
    expect([...at.leases.values()].every((l) => l.checkpoint.sequenceNumber === 'AT_TIMESTAMP')).toBe(true);
    expect(at.kinesis.requests[0]?.ShardFilter).toEqual({ Type: 'AT_TIMESTAMP', Timestamp: new Date('2026-11-29T10:00:00Z') });
  });

  it('later: leases new children and unknown open shards from their start, never old closed ones', async () => {
    const shards = history.slice(2);
    const { store, syncer } = await syncWith({ type: 'LATEST' }, shards);
    shards.push(shard(0, { closed: true }), shard(5, { parents: [2] }), shard(6, { parents: [2] }), shard(7));
    const result = await syncer.sync();
    expect(result.created).toBe(3);
    const { leases } = await store.listLeases();
    const byKey = new Map(leases.map((l) => [l.leaseKey, l]));
    expect(byKey.has(id(0))).toBe(false);
    expect(byKey.get(id(5))).toMatchObject({ parentShardIds: [id(2)], checkpoint: { sequenceNumber: 'TRIM_HORIZON' } });
    expect(byKey.get(id(7))?.checkpoint.sequenceNumber).toBe('TRIM_HORIZON');
  });

  it('deletes a finished parent only once every child has started', async () => {
    const { store, syncer } = await syncWith({ type: 'TRIM_HORIZON' }, history);
    const parent = (await store.getLease(id(1)))!;
    const taken = (await store.takeLease(parent, 'w'))!;
    await store.updateCheckpoint(taken, { checkpoint: SHARD_END, childShardIds: [id(4)] });
    expect((await syncer.sync()).deleted).toBe(0);
    const child = (await store.takeLease((await store.getLease(id(4)))!, 'w'))!;
    await store.updateCheckpoint(child, { checkpoint: { sequenceNumber: '12345', subSequenceNumber: 0 } });
    expect((await syncer.sync()).deleted).toBe(1);
    expect(await store.getLease(id(1))).toBeUndefined();
    // The closed parent is not leased again: its child has a lease.
    expect((await syncer.sync()).created).toBe(0);
  });
});

describe('checkpoints', () => {
  it('only move forward, and fail typed once the lease is gone', async () => {
    const store = new MemoryLeaseStore();
    await store.createLeaseIfNotExists(newLease({ shardId: id(0) }, 'TRIM_HORIZON'));
    const lease = (await store.takeLease((await store.getLease(id(0)))!, 'me'))!;
    const events = new LeaseEventBus();
    const written: string[] = [];
    events.on('checkpoint.written', ({ checkpoint }) => written.push(`${checkpoint.sequenceNumber}/${checkpoint.subSequenceNumber}`));
    const held = new HeldLease(lease, performance.now(), store, compileLeaseConfig({ workerId: 'me' }), events, () => performance.now());
    await held.checkpoint({ checkpoint: { sequenceNumber: '200', subSequenceNumber: 0 } });
    await held.checkpoint({ checkpoint: { sequenceNumber: '100', subSequenceNumber: 5 } });
    await held.checkpoint({ checkpoint: { sequenceNumber: '200', subSequenceNumber: 3 } });
    await held.checkpoint({ checkpoint: { sequenceNumber: '1000', subSequenceNumber: 0 } });
    expect(written).toEqual(['200/0', '200/3', '1000/0']);
    expect((await store.getLease(id(0)))?.checkpoint).toEqual({ sequenceNumber: '1000', subSequenceNumber: 0 });

    await store.takeLease((await store.getLease(id(0)))!, 'thief');
    const attempt = held.checkpoint({ checkpoint: { sequenceNumber: '2000', subSequenceNumber: 0 } });
    await expect(attempt).rejects.toBeInstanceOf(LeaseLostError);
    await expect(attempt).rejects.toMatchObject({ code: 'CALI_ERR_LEASE_LOST', retriable: false });
    expect(held.lostSignal.aborted).toBe(true);
    expect((await store.getLease(id(0)))?.checkpoint.sequenceNumber).toBe('1000');
  });
});
