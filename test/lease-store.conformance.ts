/**
 * The LeaseStore contract as one suite that every implementation must pass
 * (DynamoDB, in-memory, wrapped ones): every method, every condition, races,
 * and the lease table's item format. Each test gets a fresh, empty store.
 */
import { describe, expect, it } from 'vitest';
import type { LeaseItem } from '../src/lease/dynamodb-lease-store.js';
import { CHECKPOINT_SENTINELS, newLease, SHARD_END, type Lease } from '../src/lease/lease.js';
import { LeaseStoreError, type LeaseStore } from '../src/lease/lease-store.js';

export interface LeaseStoreHarness {
  readonly store: LeaseStore;
  /** Writes an item past the store, as another program might have (foreign or corrupt). */
  putRawItem(item: LeaseItem): Promise<void>;
  /** The stored item as it is, to check the KCL format. */
  getRawItem(leaseKey: string): Promise<LeaseItem | undefined>;
}

export interface HarnessOptions {
  /** Small pages force listLeases through many of them. */
  scanPageSize?: number;
}

/** A fresh, empty store (its table not necessarily created yet: the suite calls ensureTable). */
export type CreateHarness = (options?: HarnessOptions) => Promise<LeaseStoreHarness>;

const SEQUENCE_A = '49590338271490256608559692538361571095921575989136588898';
const SEQUENCE_B = '49590338271490256608559692538361571095921575989136588899';
/** Kinesis sequence numbers have up to 128 digits: beyond any JS number. */
const SEQUENCE_MAX = '9'.repeat(128);
const MAX_HASH_KEY = '340282366920938463463374607431768211455';

/** SS values come back in no particular order from DynamoDB. */
function sortedSets(item: LeaseItem | undefined): LeaseItem | undefined {
  if (item === undefined) return undefined;
  return Object.fromEntries(
    Object.entries(item).map(([name, value]) => [name, value.SS === undefined ? value : { SS: [...value.SS].sort() }]),
  );
}

async function expectNotRetriable(promise: Promise<unknown>): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(LeaseStoreError);
  expect((error as LeaseStoreError).retriable).toBe(false);
}

function defined<T>(value: T | undefined): T {
  expect(value).toBeDefined();
  return value as T;
}

export function describeLeaseStoreConformance(name: string, createHarness: CreateHarness): void {
  describe(`LeaseStore conformance: ${name}`, () => {
    async function setUp(options?: HarnessOptions): Promise<LeaseStoreHarness> {
      const harness = await createHarness(options);
      await harness.store.ensureTable();
      return harness;
    }

    /** A new, unowned lease as stored. */
    async function created(store: LeaseStore, shardId: string): Promise<Lease> {
      expect(await store.createLeaseIfNotExists(newLease({ shardId }, 'TRIM_HORIZON'))).toBe(true);
      return defined(await store.getLease(shardId));
    }

    /** A lease held by `owner`, as the owner last saw it. */
    async function heldBy(store: LeaseStore, shardId: string, owner: string): Promise<Lease> {
      return defined(await store.takeLease(await created(store, shardId), owner));
    }

    describe('ensureTable', () => {
      it('is idempotent, and a new table holds no leases', async () => {
        const { store } = await setUp();
        await store.ensureTable();
        expect(await store.listLeases()).toEqual({ leases: [], skipped: [] });
      });
    });

    describe('createLeaseIfNotExists and getLease', () => {
      it('creates a lease that reads back as written, sets sorted', async () => {
        const { store } = await setUp();
        const lease = newLease(
          {
            shardId: 'shardId-000000000003',
            parentShardIds: ['shardId-000000000002', 'shardId-000000000001'],
            startingHashKey: '0',
            endingHashKey: MAX_HASH_KEY,
          },
          'LATEST',
        );
        expect(await store.createLeaseIfNotExists(lease)).toBe(true);
        const expected: Lease = { ...lease, parentShardIds: ['shardId-000000000001', 'shardId-000000000002'] };
        expect(await store.getLease(lease.leaseKey)).toEqual(expected);
        expect(await store.listLeases()).toEqual({ leases: [expected], skipped: [] });
      });

      it('stores every field of a lease that already has a history (a restored table)', async () => {
        const { store } = await setUp();
        const lease: Lease = {
          leaseKey: 'shardId-000000000007',
          leaseOwner: 'worker-a',
          leaseCounter: 41,
          checkpoint: { sequenceNumber: SEQUENCE_A, subSequenceNumber: 2 },
          ownerSwitchesSinceCheckpoint: 3,
          parentShardIds: ['shardId-000000000001'],
          childShardIds: ['shardId-000000000009', 'shardId-000000000008'],
          startingHashKey: '0',
          endingHashKey: MAX_HASH_KEY,
          pendingOwner: 'worker-b',
        };
        expect(await store.createLeaseIfNotExists(lease)).toBe(true);
        expect(await store.getLease(lease.leaseKey)).toEqual({
          ...lease,
          childShardIds: ['shardId-000000000008', 'shardId-000000000009'],
        });
      });

      it('returns false for a key that exists, and leaves the stored lease alone', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.createLeaseIfNotExists(newLease({ shardId: 'shard-1' }, 'LATEST'))).toBe(false);
        expect(await store.getLease('shard-1')).toEqual(held);
      });

      it('getLease is undefined for a key that does not exist', async () => {
        const { store } = await setUp();
        expect(await store.getLease('shard-unknown')).toBeUndefined();
      });

      it('rejects a lease no store should hold, without retry, and writes nothing', async () => {
        const { store } = await setUp();
        const valid = newLease({ shardId: 'shard-1' }, 'TRIM_HORIZON');
        await expectNotRetriable(
          store.createLeaseIfNotExists({ ...valid, checkpoint: { sequenceNumber: 'garbage', subSequenceNumber: 0 } }),
        );
        await expectNotRetriable(store.createLeaseIfNotExists({ ...valid, leaseCounter: -1 }));
        await expectNotRetriable(store.createLeaseIfNotExists({ ...valid, leaseCounter: 1.5 }));
        await expectNotRetriable(store.createLeaseIfNotExists({ ...valid, leaseOwner: '' }));
        await expectNotRetriable(store.createLeaseIfNotExists({ ...valid, leaseKey: '' }));
        expect(await store.listLeases()).toEqual({ leases: [], skipped: [] });
      });
    });

    describe('listLeases', () => {
      it('lists every lease exactly once across many pages', async () => {
        const { store } = await setUp({ scanPageSize: 7 });
        const keys = Array.from({ length: 60 }, (_, i) => `shardId-${String(i).padStart(12, '0')}`);
        await Promise.all(keys.map((shardId) => store.createLeaseIfNotExists(newLease({ shardId }, 'TRIM_HORIZON'))));
        const { leases, skipped } = await store.listLeases();
        expect(skipped).toEqual([]);
        expect(leases.map((lease) => lease.leaseKey).sort()).toEqual(keys);
      });
    });

    describe('renewLease', () => {
      it('increments the counter by one and changes nothing else', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        const renewed = await store.renewLease(held);
        expect(renewed).toEqual({ ...held, leaseCounter: held.leaseCounter + 1 });
        expect(await store.getLease('shard-1')).toEqual(renewed);
      });

      it('fails from a stale view: after the owner renewed, and after another worker took the lease', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        const renewed = defined(await store.renewLease(held));
        expect(await store.renewLease(held)).toBeUndefined();
        const taken = defined(await store.takeLease(renewed, 'worker-b'));
        expect(await store.renewLease(renewed)).toBeUndefined();
        expect(await store.getLease('shard-1')).toEqual(taken);
      });

      it('fails for a worker that is not the owner, even with the current counter', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.renewLease({ ...held, leaseOwner: 'worker-b' })).toBeUndefined();
        expect(await store.getLease('shard-1')).toEqual(held);
      });

      it('fails for a lease that was deleted, without creating it again', async () => {
        const { store, getRawItem } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.deleteLease(held)).toBe(true);
        expect(await store.renewLease(held)).toBeUndefined();
        expect(await getRawItem('shard-1')).toBeUndefined();
      });

      it('refuses to renew a lease nobody owns, without retry', async () => {
        const { store } = await setUp();
        const lease = await created(store, 'shard-1');
        await expectNotRetriable(store.renewLease(lease));
        expect(await store.getLease('shard-1')).toEqual(lease);
      });
    });

    describe('takeLease', () => {
      it('takes an unowned lease: owner set, counter + 1, no owner switch counted', async () => {
        const { store } = await setUp();
        const lease = await created(store, 'shard-1');
        const taken = await store.takeLease(lease, 'worker-a');
        expect(taken).toEqual({ ...lease, leaseOwner: 'worker-a', leaseCounter: lease.leaseCounter + 1 });
        expect(taken?.ownerSwitchesSinceCheckpoint).toBe(0);
        expect(await store.getLease('shard-1')).toEqual(taken);
      });

      it('takes an expired lease from its owner by the counter last seen, counting each owner switch', async () => {
        const { store } = await setUp();
        const heldByA = await heldBy(store, 'shard-1', 'worker-a');
        const takenByB = defined(await store.takeLease(heldByA, 'worker-b'));
        expect(takenByB).toEqual({
          ...heldByA,
          leaseOwner: 'worker-b',
          leaseCounter: heldByA.leaseCounter + 1,
          ownerSwitchesSinceCheckpoint: 1,
        });
        const takenByC = defined(await store.takeLease(takenByB, 'worker-c'));
        expect(takenByC.ownerSwitchesSinceCheckpoint).toBe(2);
      });

      it("re-taking one's own lease counts no owner switch", async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        const again = await store.takeLease(held, 'worker-a');
        expect(again).toEqual({ ...held, leaseCounter: held.leaseCounter + 1 });
      });

      it('clears a pending handoff request', async () => {
        const { store, getRawItem } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.requestHandoff(held, 'worker-b')).toBe(true);
        const taken = await store.takeLease(held, 'worker-c');
        expect(taken?.leaseOwner).toBe('worker-c');
        expect(taken?.pendingOwner).toBeUndefined();
        expect(await getRawItem('shard-1')).not.toHaveProperty('pendingOwner');
      });

      it('fails on a stale counter and leaves the lease alone', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        const renewed = defined(await store.renewLease(held));
        expect(await store.takeLease(held, 'worker-b')).toBeUndefined();
        expect(await store.getLease('shard-1')).toEqual(renewed);
      });

      it('fails when the owner is not the one expected, even with the current counter', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.takeLease({ ...held, leaseOwner: undefined }, 'worker-b')).toBeUndefined();
        expect(await store.takeLease({ ...held, leaseOwner: 'worker-c' }, 'worker-b')).toBeUndefined();
        expect(await store.getLease('shard-1')).toEqual(held);
      });

      it('fails for a lease that does not exist, without creating it', async () => {
        const { store, getRawItem } = await setUp();
        expect(await store.takeLease(newLease({ shardId: 'shard-missing' }, 'LATEST'), 'worker-a')).toBeUndefined();
        expect(await getRawItem('shard-missing')).toBeUndefined();
      });

      it('rejects an empty owner id without retry', async () => {
        const { store } = await setUp();
        const lease = await created(store, 'shard-1');
        await expectNotRetriable(store.takeLease(lease, ''));
      });
    });

    describe('requestHandoff', () => {
      it("records the requester without touching the counter; the owner's renewal returns it", async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.requestHandoff(held, 'worker-b')).toBe(true);
        expect(await store.getLease('shard-1')).toEqual({ ...held, pendingOwner: 'worker-b' });
        const renewed = await store.renewLease(held);
        expect(renewed).toEqual({ ...held, leaseCounter: held.leaseCounter + 1, pendingOwner: 'worker-b' });
      });

      it("succeeds from a view whose counter is stale by the owner's renewals", async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        const renewed = defined(await store.renewLease(defined(await store.renewLease(held))));
        expect(await store.requestHandoff(held, 'worker-b')).toBe(true);
        expect((await store.renewLease(renewed))?.pendingOwner).toBe('worker-b');
      });

      it('fails when a handoff is already pending, keeping the first request', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.requestHandoff(held, 'worker-b')).toBe(true);
        expect(await store.requestHandoff(held, 'worker-c')).toBe(false);
        expect((await store.getLease('shard-1'))?.pendingOwner).toBe('worker-b');
      });

      it('fails when the owner changed', async () => {
        const { store } = await setUp();
        const heldByA = await heldBy(store, 'shard-1', 'worker-a');
        const takenByC = defined(await store.takeLease(heldByA, 'worker-c'));
        expect(await store.requestHandoff(heldByA, 'worker-b')).toBe(false);
        expect(await store.getLease('shard-1')).toEqual(takenByC);
      });

      it('the owner checkpoints, then transfers the lease to the requester; its old view is fenced', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.requestHandoff(held, 'worker-b')).toBe(true);
        const renewed = defined(await store.renewLease(held));
        const checkpointed = defined(
          await store.updateCheckpoint(renewed, { checkpoint: { sequenceNumber: SEQUENCE_A, subSequenceNumber: 0 } }),
        );
        expect(checkpointed.pendingOwner).toBe('worker-b');
        const transferred = await store.takeLease(checkpointed, defined(checkpointed.pendingOwner));
        expect(transferred).toEqual({
          ...checkpointed,
          leaseOwner: 'worker-b',
          leaseCounter: checkpointed.leaseCounter + 1,
          ownerSwitchesSinceCheckpoint: 1,
          pendingOwner: undefined,
        });
        expect(await store.renewLease(checkpointed)).toBeUndefined();
        expect(
          await store.updateCheckpoint(checkpointed, { checkpoint: { sequenceNumber: SEQUENCE_B, subSequenceNumber: 0 } }),
        ).toBeUndefined();
      });

      it('rejects a request for a lease nobody owns, or by its owner, without retry', async () => {
        const { store } = await setUp();
        const lease = await created(store, 'shard-1');
        await expectNotRetriable(store.requestHandoff(lease, 'worker-b'));
        const held = defined(await store.takeLease(lease, 'worker-a'));
        await expectNotRetriable(store.requestHandoff(held, 'worker-a'));
        expect(await store.getLease('shard-1')).toEqual(held);
      });
    });

    describe('releaseLease', () => {
      it('removes the owner and any pending request; another worker takes it at once, no switch counted', async () => {
        const { store, getRawItem } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.requestHandoff(held, 'worker-b')).toBe(true);
        const released = defined(await store.releaseLease(held));
        expect(released).toEqual({
          ...held,
          leaseOwner: undefined,
          leaseCounter: held.leaseCounter + 1,
          pendingOwner: undefined,
        });
        const raw = await getRawItem('shard-1');
        expect(raw).not.toHaveProperty('leaseOwner');
        expect(raw).not.toHaveProperty('pendingOwner');
        const taken = await store.takeLease(released, 'worker-c');
        expect(taken).toMatchObject({ leaseOwner: 'worker-c', ownerSwitchesSinceCheckpoint: 0 });
      });

      it('fails for a worker that is not the owner, and from a stale counter', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.releaseLease({ ...held, leaseOwner: 'worker-b' })).toBeUndefined();
        const renewed = defined(await store.renewLease(held));
        expect(await store.releaseLease(held)).toBeUndefined();
        expect(await store.getLease('shard-1')).toEqual(renewed);
      });

      it('refuses to release a lease nobody owns, without retry', async () => {
        const { store } = await setUp();
        await expectNotRetriable(store.releaseLease(await created(store, 'shard-1')));
      });
    });

    describe('updateCheckpoint', () => {
      it('writes the checkpoint, increments the counter and resets the owner switches', async () => {
        const { store } = await setUp();
        const takenByB = defined(await store.takeLease(await heldBy(store, 'shard-1', 'worker-a'), 'worker-b'));
        expect(takenByB.ownerSwitchesSinceCheckpoint).toBe(1);
        const checkpoint = { sequenceNumber: SEQUENCE_A, subSequenceNumber: 5 };
        const written = await store.updateCheckpoint(takenByB, { checkpoint });
        expect(written).toEqual({
          ...takenByB,
          checkpoint,
          leaseCounter: takenByB.leaseCounter + 1,
          ownerSwitchesSinceCheckpoint: 0,
        });
        expect(await store.getLease('shard-1')).toEqual(written);
      });

      it('fences a worker that lost the lease: its checkpoint fails once another worker took over', async () => {
        const { store } = await setUp();
        const heldByA = await heldBy(store, 'shard-1', 'worker-a');
        const viewOfA = defined(
          await store.updateCheckpoint(heldByA, { checkpoint: { sequenceNumber: SEQUENCE_A, subSequenceNumber: 0 } }),
        );
        // A stalls (GC pause, partition); B sees the counter unchanged for failover ms and takes the lease.
        const takenByB = defined(await store.takeLease(viewOfA, 'worker-b'));
        expect(
          await store.updateCheckpoint(viewOfA, { checkpoint: { sequenceNumber: SEQUENCE_B, subSequenceNumber: 0 } }),
        ).toBeUndefined();
        expect(await store.renewLease(viewOfA)).toBeUndefined();
        expect(await store.getLease('shard-1')).toEqual(takenByB);
        expect(takenByB.checkpoint.sequenceNumber).toBe(SEQUENCE_A);
      });

      it('records child shards at SHARD_END; an omitted list keeps them, an empty one removes them', async () => {
        const { store, getRawItem } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        const ended = defined(
          await store.updateCheckpoint(held, { checkpoint: SHARD_END, childShardIds: ['shard-3', 'shard-2'] }),
        );
        expect(ended.checkpoint).toEqual(SHARD_END);
        expect(ended.childShardIds).toEqual(['shard-2', 'shard-3']);
        const kept = defined(await store.updateCheckpoint(ended, { checkpoint: SHARD_END }));
        expect(kept.childShardIds).toEqual(['shard-2', 'shard-3']);
        const cleared = defined(await store.updateCheckpoint(kept, { checkpoint: SHARD_END, childShardIds: [] }));
        expect(cleared.childShardIds).toEqual([]);
        expect(await getRawItem('shard-1')).not.toHaveProperty('childShardIds');
      });

      it('round-trips every sentinel, 128-digit sequence numbers and large sub-sequence numbers', async () => {
        const { store } = await setUp();
        let lease = await heldBy(store, 'shard-1', 'worker-a');
        const checkpoints = [
          ...CHECKPOINT_SENTINELS.map((sequenceNumber) => ({ sequenceNumber, subSequenceNumber: 0 })),
          { sequenceNumber: SEQUENCE_A, subSequenceNumber: 0 },
          { sequenceNumber: SEQUENCE_MAX, subSequenceNumber: 7 },
          { sequenceNumber: '0', subSequenceNumber: 2 ** 40 },
        ];
        for (const checkpoint of checkpoints) {
          lease = defined(await store.updateCheckpoint(lease, { checkpoint }));
          expect((await store.getLease('shard-1'))?.checkpoint).toEqual(checkpoint);
        }
      });

      it('rejects a checkpoint that is no position, without retry, and writes nothing', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        const invalid = [
          { sequenceNumber: 'garbage', subSequenceNumber: 0 },
          { sequenceNumber: '', subSequenceNumber: 0 },
          { sequenceNumber: '-1', subSequenceNumber: 0 },
          { sequenceNumber: '1'.repeat(129), subSequenceNumber: 0 },
          { sequenceNumber: SEQUENCE_A, subSequenceNumber: -1 },
          { sequenceNumber: SEQUENCE_A, subSequenceNumber: 0.5 },
        ];
        for (const checkpoint of invalid) await expectNotRetriable(store.updateCheckpoint(held, { checkpoint }));
        expect(await store.getLease('shard-1')).toEqual(held);
      });

      it('refuses a checkpoint for a lease nobody owns, without retry', async () => {
        const { store } = await setUp();
        const lease = await created(store, 'shard-1');
        await expectNotRetriable(store.updateCheckpoint(lease, { checkpoint: SHARD_END }));
      });
    });

    describe('deleteLease', () => {
      it('deletes with the current counter; the key can be created again', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        expect(await store.deleteLease(held)).toBe(true);
        expect(await store.getLease('shard-1')).toBeUndefined();
        expect(await store.createLeaseIfNotExists(newLease({ shardId: 'shard-1' }, 'LATEST'))).toBe(true);
      });

      it('fails with a stale counter, and for a lease that does not exist', async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        const renewed = defined(await store.renewLease(held));
        expect(await store.deleteLease(held)).toBe(false);
        expect(await store.getLease('shard-1')).toEqual(renewed);
        expect(await store.deleteLease(newLease({ shardId: 'shard-missing' }, 'LATEST'))).toBe(false);
      });
    });

    describe('racing writers', () => {
      const LEASES = 25;
      const RACERS = 8;

      it(`of ${RACERS} concurrent takers of one lease exactly one wins, for each of ${LEASES} leases`, async () => {
        const { store } = await setUp();
        const leases = await Promise.all(
          Array.from({ length: LEASES }, (_, i) => created(store, `shard-${String(i).padStart(3, '0')}`)),
        );
        const outcomes = await Promise.all(
          leases.map((lease) =>
            Promise.all(Array.from({ length: RACERS }, (_, racer) => store.takeLease(lease, `worker-${racer}`))),
          ),
        );
        for (const [i, results] of outcomes.entries()) {
          const winners = results.filter((result) => result !== undefined);
          expect(winners).toHaveLength(1);
          const lease = defined(leases[i]);
          expect(await store.getLease(lease.leaseKey)).toEqual(winners[0]);
          expect(winners[0]?.leaseCounter).toBe(lease.leaseCounter + 1);
        }
      });

      it("a renewal racing another worker's take: exactly one of them succeeds", async () => {
        const { store } = await setUp();
        const held = await Promise.all(
          Array.from({ length: LEASES }, (_, i) => heldBy(store, `shard-${String(i).padStart(3, '0')}`, 'worker-a')),
        );
        const outcomes = await Promise.all(
          held.map((lease) => Promise.all([store.renewLease(lease), store.takeLease(lease, 'worker-b')])),
        );
        for (const results of outcomes) expect(results.filter((result) => result !== undefined)).toHaveLength(1);
      });

      it(`of ${RACERS} concurrent handoff requests exactly one is recorded`, async () => {
        const { store } = await setUp();
        const held = await heldBy(store, 'shard-1', 'worker-a');
        const results = await Promise.all(
          Array.from({ length: RACERS }, (_, racer) => store.requestHandoff(held, `worker-${racer + 1}`)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = `worker-${results.indexOf(true) + 1}`;
        expect((await store.getLease('shard-1'))?.pendingOwner).toBe(winner);
      });
    });

    describe('foreign and corrupt items', () => {
      const CORRUPT: readonly { item: LeaseItem; reason: RegExp }[] = [
        { item: { leaseKey: { S: 'no-counter' }, checkpoint: { S: 'LATEST' } }, reason: /leaseCounter is missing/ },
        {
          item: { leaseKey: { S: 'counter-as-string' }, leaseCounter: { S: '1' }, checkpoint: { S: 'LATEST' } },
          reason: /leaseCounter is S, expected N/,
        },
        {
          item: { leaseKey: { S: 'negative-counter' }, leaseCounter: { N: '-1' }, checkpoint: { S: 'LATEST' } },
          reason: /leaseCounter is "-1", expected a non-negative integer/,
        },
        {
          item: { leaseKey: { S: 'fractional-counter' }, leaseCounter: { N: '1.5' }, checkpoint: { S: 'LATEST' } },
          reason: /leaseCounter is "1.5"/,
        },
        { item: { leaseKey: { S: 'no-checkpoint' }, leaseCounter: { N: '1' } }, reason: /checkpoint is missing/ },
        {
          item: { leaseKey: { S: 'checkpoint-garbage' }, leaseCounter: { N: '1' }, checkpoint: { S: 'garbage' } },
          reason: /checkpoint is "garbage", neither a sentinel nor a sequence number/,
        },
        {
          item: { leaseKey: { S: 'checkpoint-as-number' }, leaseCounter: { N: '1' }, checkpoint: { N: '42' } },
          reason: /checkpoint is N, expected S/,
        },
        {
          item: {
            leaseKey: { S: 'parents-as-string' },
            leaseCounter: { N: '1' },
            checkpoint: { S: 'LATEST' },
            parentShardId: { S: 'shard-0' },
          },
          reason: /parentShardId is S, expected SS/,
        },
        {
          item: {
            leaseKey: { S: 'owner-as-number' },
            leaseCounter: { N: '1' },
            checkpoint: { S: 'LATEST' },
            leaseOwner: { N: '7' },
          },
          reason: /leaseOwner is N, expected S/,
        },
        {
          item: {
            leaseKey: { S: 'owner-empty' },
            leaseCounter: { N: '1' },
            checkpoint: { S: 'LATEST' },
            leaseOwner: { S: '' },
          },
          reason: /leaseOwner is an empty string/,
        },
        {
          item: {
            leaseKey: { S: 'subsequence-as-string' },
            leaseCounter: { N: '1' },
            checkpoint: { S: SEQUENCE_A },
            checkpointSubSequenceNumber: { S: '0' },
          },
          reason: /checkpointSubSequenceNumber is S, expected N/,
        },
        {
          item: { leaseKey: { S: 'app-settings' }, pollIntervalMs: { N: '500' }, owner: { S: 'team-x' } },
          reason: /leaseCounter is missing/,
        },
      ];

      it('are skipped with a reason, never thrown, beside the valid leases, across pages', async () => {
        const { store, putRawItem } = await setUp({ scanPageSize: 3 });
        await Promise.all(CORRUPT.map(({ item }) => putRawItem(item)));
        const valid = await Promise.all([created(store, 'shard-1'), heldBy(store, 'shard-2', 'worker-a')]);
        const { leases, skipped } = await store.listLeases();
        expect([...leases].sort((a, b) => a.leaseKey.localeCompare(b.leaseKey))).toEqual(valid);
        expect(skipped).toHaveLength(CORRUPT.length);
        for (const { item, reason } of CORRUPT) {
          const entry = skipped.find((skip) => skip.leaseKey === item.leaseKey?.S);
          expect(entry?.reason).toMatch(reason);
        }
      });

      it('getLease reads a corrupt item as no lease, and creating a lease over it fails', async () => {
        const { store, putRawItem } = await setUp();
        await putRawItem({ leaseKey: { S: 'shard-1' }, checkpoint: { S: 'LATEST' } });
        expect(await store.getLease('shard-1')).toBeUndefined();
        expect(await store.createLeaseIfNotExists(newLease({ shardId: 'shard-1' }, 'LATEST'))).toBe(false);
      });

      it('a write that leaves an item which no longer reads as a lease fails without retry', async () => {
        const { store, putRawItem, getRawItem } = await setUp();
        await putRawItem({
          leaseKey: { S: 'shard-1' },
          leaseCounter: { N: '4' },
          leaseOwner: { S: 'worker-a' },
          checkpoint: { S: 'garbage' },
        });
        const view: Lease = { ...newLease({ shardId: 'shard-1' }, 'LATEST'), leaseOwner: 'worker-a', leaseCounter: 4 };
        await expectNotRetriable(store.renewLease(view));
        expect((await getRawItem('shard-1'))?.leaseCounter).toEqual({ N: '5' });
      });

      it('attributes other KCL versions write are ignored on read and kept on write; absent counters read as 0', async () => {
        const { store, putRawItem, getRawItem } = await setUp();
        await putRawItem({
          leaseKey: { S: 'shard-1' },
          leaseCounter: { N: '3' },
          leaseOwner: { S: 'worker-a' },
          checkpoint: { S: SEQUENCE_A },
          throughputKBps: { N: '12.5' },
          leaseState: { S: 'ACTIVE' },
        });
        const lease = defined(await store.getLease('shard-1'));
        expect(lease).toMatchObject({
          leaseOwner: 'worker-a',
          leaseCounter: 3,
          checkpoint: { sequenceNumber: SEQUENCE_A, subSequenceNumber: 0 },
          ownerSwitchesSinceCheckpoint: 0,
          parentShardIds: [],
        });
        defined(await store.takeLease(defined(await store.renewLease(lease)), 'worker-b'));
        expect(await getRawItem('shard-1')).toMatchObject({
          throughputKBps: { N: '12.5' },
          leaseState: { S: 'ACTIVE' },
          leaseOwner: { S: 'worker-b' },
          ownerSwitchesSinceCheckpoint: { N: '1' },
        });
      });
    });

    describe('the item format is KCL 2.x', () => {
      it('an owned lease with history: attribute names and types as KCL writes them', async () => {
        const { store, getRawItem } = await setUp();
        const lease = newLease(
          { shardId: 'shard-3', parentShardIds: ['shard-1', 'shard-2'], startingHashKey: '0', endingHashKey: MAX_HASH_KEY },
          'TRIM_HORIZON',
        );
        expect(await store.createLeaseIfNotExists(lease)).toBe(true);
        const held = defined(await store.takeLease(lease, 'worker-a'));
        const ended = defined(
          await store.updateCheckpoint(held, { checkpoint: SHARD_END, childShardIds: ['shard-4', 'shard-5'] }),
        );
        expect(await store.requestHandoff(ended, 'worker-b')).toBe(true);
        expect(sortedSets(await getRawItem('shard-3'))).toEqual({
          leaseKey: { S: 'shard-3' },
          leaseOwner: { S: 'worker-a' },
          leaseCounter: { N: '2' },
          checkpoint: { S: 'SHARD_END' },
          checkpointSubSequenceNumber: { N: '0' },
          ownerSwitchesSinceCheckpoint: { N: '0' },
          parentShardId: { SS: ['shard-1', 'shard-2'] },
          childShardIds: { SS: ['shard-4', 'shard-5'] },
          startingHashKey: { S: '0' },
          endingHashKey: { S: MAX_HASH_KEY },
          pendingOwner: { S: 'worker-b' },
        });
      });

      it('a new lease: no leaseOwner, no empty sets, counters as numbers', async () => {
        const { store, getRawItem } = await setUp();
        await created(store, 'shard-1');
        expect(await getRawItem('shard-1')).toEqual({
          leaseKey: { S: 'shard-1' },
          leaseCounter: { N: '0' },
          checkpoint: { S: 'TRIM_HORIZON' },
          checkpointSubSequenceNumber: { N: '0' },
          ownerSwitchesSinceCheckpoint: { N: '0' },
        });
      });
    });
  });
}
