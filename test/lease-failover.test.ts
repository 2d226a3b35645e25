/**
 * The time targets of crash failover and SIGTERM handoff, as promises about
 * order and events rather than speed (issue 11):
 * - a write that happened but looked failed (ambiguous timeout) is recognised
 *   as ours on the re-read, so a release or checkpoint after it does not lose
 *   the lease and leave it to expire;
 * - a stopping worker releases every lease the table says is its own, also
 *   those it no longer runs, so the others take them as unowned at once
 *   instead of as expired (while any stays, it still counts as a live worker
 *   and their fair share keeps them from taking even what it did release);
 * - a watcher scans again just after a crashed worker's lease would expire,
 *   not on its next regular scan.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileLeaseConfig, type LeaseConfigInput } from '../src/lease/config.js';
import { LeaseCoordinator } from '../src/lease/coordinator.js';
import { LeaseEventBus, type LeaseEvents } from '../src/lease/events.js';
import { FaultInjectingLeaseStore } from '../src/lease/faulty-lease-store.js';
import { afterFailedCondition, HeldLease } from '../src/lease/held-lease.js';
import { newLease, type Lease } from '../src/lease/lease.js';
import { LeaseStoreError, type LeaseStore } from '../src/lease/lease-store.js';
import { MemoryLeaseStore } from '../src/lease/memory-lease-store.js';
import { waitFor } from './support/cluster.js';
import { FakeStream, ProcessingLedger, checkpointOf } from './support/fake-stream.js';

const SHARD = 'shardId-000000000000';
const running: LeaseCoordinator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

interface Logged { name: keyof LeaseEvents; leaseKey?: string; how?: string; reason?: string }

function recorder(): { events: LeaseEventBus; log: Logged[] } {
  const events = new LeaseEventBus();
  const log: Logged[] = [];
  for (const name of ['lease.taken', 'lease.lost', 'lease.released', 'lease.handed_over', 'lease.handoff_requested', 'checkpoint.written'] as const) {
    events.on(name, (payload: { leaseKey?: string; how?: string; reason?: string }) => log.push({ name, leaseKey: payload.leaseKey, how: payload.how, reason: payload.reason }));
  }
  return { events, log };
}

async function held(store: LeaseStore, memory: MemoryLeaseStore, workerId: string, now: () => number = () => performance.now()) {
  await memory.createLeaseIfNotExists(newLease({ shardId: SHARD }, 'TRIM_HORIZON'));
  const taken = await memory.takeLease((await memory.getLease(SHARD))!, workerId);
  const { events, log } = recorder();
  const lease = new HeldLease(taken!, now(), store, compileLeaseConfig({ workerId, failoverMs: 3_000 }), events, now);
  return { lease, log };
}

/** `store` whose first `operation` call is carried out and then reported as a timeout, as DynamoDbLeaseStore reports one. */
function ambiguousOnce(store: LeaseStore, operation: 'releaseLease' | 'updateCheckpoint'): LeaseStore & { ambiguous: number } {
  let ambiguous = 0;
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'ambiguous') return ambiguous;
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property !== operation) return value.bind(target);
      return async (...args: unknown[]) => {
        const result: unknown = await value.apply(target, args);
        if (ambiguous++ > 0) return result;
        throw new LeaseStoreError(`${operation} timed out after 1000 ms (a write may have happened all the same)`, true);
      };
    },
  }) as LeaseStore & { ambiguous: number };
}

function worker(workerId: string, store: LeaseStore, stream: FakeStream, ledger: ProcessingLedger, config: LeaseConfigInput, blockWhile?: () => boolean) {
  const { events, log } = recorder();
  const coordinator = new LeaseCoordinator({
    store,
    config: compileLeaseConfig({ shardSyncIntervalMs: 60_000, ...config, workerId }),
    events,
    syncer: stream.syncer(store),
    processorFactory: ledger.processorFactory(workerId, { blockWhile }),
    readerFactory: stream.readerFactory(),
    // The first scan at once: the tests start from a known table.
    random: () => 0,
  });
  running.push(coordinator);
  return { coordinator, log };
}

describe('what a failed condition means', () => {
  const base: Lease = { ...newLease({ shardId: SHARD }, 'TRIM_HORIZON'), leaseOwner: 'a', leaseCounter: 7 };
  const released = (lease: Lease): boolean => lease.leaseOwner === undefined;

  it('retries from the stored version when the lease is still ours and only our writes moved it', () => {
    expect(afterFailedCondition(base, { ...base, leaseCounter: 8 }, undefined)).toBe('retry');
    expect(afterFailedCondition(base, { ...base, leaseCounter: 9, pendingOwner: 'b' }, released)).toBe('retry');
  });

  it('takes one increment into the intended state as our own write', () => {
    expect(afterFailedCondition(base, { ...base, leaseOwner: undefined, leaseCounter: 8 }, released)).toBe('done');
    expect(afterFailedCondition(base, { ...base, leaseOwner: 'b', leaseCounter: 8 }, (l) => l.leaseOwner === 'b')).toBe('done');
  });

  it('counts anything else as lost: another owner, two increments to unowned, the same counter, no lease', () => {
    expect(afterFailedCondition(base, { ...base, leaseOwner: 'b', leaseCounter: 8 }, undefined)).toBe('lost');
    expect(afterFailedCondition(base, { ...base, leaseOwner: 'b', leaseCounter: 8 }, released)).toBe('lost');
    expect(afterFailedCondition(base, { ...base, leaseOwner: undefined, leaseCounter: 9 }, released)).toBe('lost');
    expect(afterFailedCondition(base, { ...base }, undefined)).toBe('lost');
    expect(afterFailedCondition(base, undefined, released)).toBe('lost');
  });
});

describe('held lease writes that looked failed', () => {
  it('a release that happened although it timed out is reported as released, not lost', async () => {
    const memory = new MemoryLeaseStore();
    const store = ambiguousOnce(memory, 'releaseLease');
    const { lease, log } = await held(store, memory, 'a');
    await lease.release();
    expect(log.map((e) => e.name)).toEqual(['lease.released']);
    expect((await memory.getLease(SHARD))?.leaseOwner).toBeUndefined();
    // The timed-out release, then its retry (failed condition: our own write had moved the counter).
    expect(store.ambiguous).toBe(2);
  });

  it('a checkpoint that timed out but was written keeps the lease, and the release after it succeeds', async () => {
    const memory = new MemoryLeaseStore();
    const { lease, log } = await held(ambiguousOnce(memory, 'updateCheckpoint'), memory, 'a');
    await lease.checkpoint({ checkpoint: checkpointOf('1005') });
    expect(lease.isLost).toBe(false);
    await lease.release();
    expect(log.map((e) => e.name)).toEqual(['checkpoint.written', 'lease.released']);
    const stored = await memory.getLease(SHARD);
    expect(stored?.leaseOwner).toBeUndefined();
    expect(stored?.checkpoint).toEqual(checkpointOf('1005'));
  });

  it('a release through throttling and server errors is retried until it lands', async () => {
    const memory = new MemoryLeaseStore();
    const faulty = new FaultInjectingLeaseStore(memory, { seed: 5, operations: { releaseLease: { throttleRate: 0.4, serverErrorRate: 0.3, ambiguousRate: 0.3 } } });
    for (let i = 0; i < 20; i++) {
      const { lease, log } = await held(faulty, memory, `a${i}`);
      await lease.release();
      expect(log.map((e) => e.name)).toEqual(['lease.released']);
      expect((await memory.getLease(SHARD))?.leaseOwner).toBeUndefined();
    }
    expect(faulty.injected.throttles + faulty.injected.serverErrors).toBeGreaterThan(5);
    expect(faulty.injected.ambiguous).toBeGreaterThan(2);
  });

  it('a checkpoint that moves nothing writes nothing, so it does not count as a renewal', async () => {
    const memory = new MemoryLeaseStore();
    let clock = 0;
    const { lease } = await held(memory, memory, 'a', () => clock);
    await lease.checkpoint({ checkpoint: checkpointOf('1005') });
    clock = 800;
    await lease.checkpoint({ checkpoint: checkpointOf('1005') });
    expect(lease.sinceConfirmedMs).toBe(800);
  });
});

describe('coordinator: stop and crash', () => {
  it('on stop releases also the leases it gave up but the table still says are its own; the others take them as unowned', async () => {
    const memory = new MemoryLeaseStore();
    const stream = new FakeStream(6);
    stream.append(5);
    await stream.syncer(memory).sync();
    const owners = ['a', 'a', 'b', 'b', 'c', 'c'];
    for (const [i, shardId] of [...stream.shards.keys()].entries()) await memory.takeLease((await memory.getLease(shardId))!, owners[i]!);
    const ledger = new ProcessingLedger();
    // A renewal interval of half the failover: c gives its leases up (hold deadline) well before a and b would expire them.
    const config: LeaseConfigInput = { failoverMs: 6_000, renewIntervalMs: 3_000, takeIntervalMs: 100 };
    const faultyC = new FaultInjectingLeaseStore(memory, { seed: 2 });
    const a = worker('a', memory, stream, ledger, config);
    const b = worker('b', memory, stream, ledger, config);
    const c = worker('c', faultyC, stream, ledger, config);
    await Promise.all([a, b, c].map((w) => w.coordinator.start()));
    await waitFor('2, 2, 2', () => [a, b, c].every((w) => w.coordinator.heldShardIds().length === 2), 5_000);
    await waitFor('everything processed', () => ledger.processed.size === stream.total, 5_000);

    // c loses the table long enough to give its leases up; the table still names it.
    faultyC.setOutage(true);
    await waitFor('c gave its leases up', () => c.log.filter((e) => e.name === 'lease.lost').length === 2, 10_000);
    const cLeases = [...stream.shards.keys()].slice(4);
    for (const key of cLeases) expect((await memory.getLease(key))?.leaseOwner).toBe('c');
    faultyC.setOutage(false);
    await c.coordinator.stop();
    running.splice(running.indexOf(c.coordinator), 1);

    expect(c.log.filter((e) => e.name === 'lease.released').map((e) => e.leaseKey).sort()).toEqual(cLeases);
    await waitFor('a and b hold all six', () => a.coordinator.heldShardIds().length + b.coordinator.heldShardIds().length === 6, 10_000);
    const takes = [...a.log, ...b.log].filter((e) => e.name === 'lease.taken' && cLeases.includes(e.leaseKey!));
    expect(takes.map((e) => e.how)).toEqual(['unowned', 'unowned']);
    expect(ledger.overlaps()).toEqual([]);
  }, 30_000);

  it('a crashed worker\'s leases go to the workers that saw them expire, not to its replacement that joined after the crash', async () => {
    const memory = new MemoryLeaseStore();
    const stream = new FakeStream(12);
    await stream.syncer(memory).sync();
    const shards = [...stream.shards.keys()];
    for (const [i, shardId] of shards.entries()) await memory.takeLease((await memory.getLease(shardId))!, ['v', 'a', 'b'][Math.floor(i / 4)]!);
    const ledger = new ProcessingLedger();
    const config: LeaseConfigInput = { failoverMs: 2_000, takeIntervalMs: 100 };
    const faultyV = new FaultInjectingLeaseStore(memory, { seed: 4 });
    // a and b are in long batches: a lease asked of them moves only once the batch is done, so they do not gain room that way.
    let busy = false;
    const a = worker('a', memory, stream, ledger, config, () => busy);
    const b = worker('b', memory, stream, ledger, config, () => busy);
    const v = worker('v', faultyV, stream, ledger, config);
    await Promise.all([a, b, v].map((w) => w.coordinator.start()));
    await waitFor('4, 4, 4', () => [v, a, b].every((w) => w.coordinator.heldShardIds().length === 4), 5_000);

    // v crashes; its replacement n starts a while later (a process start), sees v's leases as fresh and asks for its share.
    busy = true;
    stream.append(3);
    faultyV.setOutage(true);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const n = worker('n', memory, stream, ledger, config);
    await n.coordinator.start();
    const vLeases = shards.slice(0, 4);
    try {
      await waitFor('v\'s leases taken', async () => {
        const table = await Promise.all(vLeases.map((key) => memory.getLease(key)));
        return table.every((l) => l?.leaseOwner !== 'v') ? true : undefined;
      }, 10_000);
    } finally {
      busy = false;
    }
    // Counting n, the fair share (4 of 12) would leave at least one for n, which sees it expire only a failover after its first scan.
    const takes = [a, b, n].flatMap((w) => w.log.filter((e) => e.name === 'lease.taken' && vLeases.includes(e.leaseKey!)));
    expect(takes.map((e) => e.how)).toEqual(['expired', 'expired', 'expired', 'expired']);
    expect(n.log.filter((e) => e.name === 'lease.taken' && vLeases.includes(e.leaseKey!))).toEqual([]);
    // n gets its share by planned handoffs afterwards.
    await waitFor('n holds its share', () => n.coordinator.heldShardIds().length >= 3, 10_000);
    expect(n.log.filter((e) => e.name === 'lease.taken').every((e) => e.how === 'handoff')).toBe(true);
    expect(ledger.overlaps()).toEqual([]);
  }, 30_000);

  it('scans again just after a crashed worker\'s lease would expire, not on its next regular scan', async () => {
    const memory = new MemoryLeaseStore();
    const stream = new FakeStream(1);
    const ledger = new ProcessingLedger();
    const faultyA = new FaultInjectingLeaseStore(memory, { seed: 3 });
    const a = worker('a', faultyA, stream, ledger, { failoverMs: 2_000, takeIntervalMs: 100 });
    await a.coordinator.start();
    await waitFor('a holds the lease', () => a.coordinator.heldShardIds().length === 1, 5_000);

    // a's writes stop reaching the table, as after a kill -9. b scans once at start, then every 20 s.
    faultyA.setOutage(true);
    const b = worker('b', memory, stream, ledger, { failoverMs: 2_000, takeIntervalMs: 20_000 });
    await b.coordinator.start();
    // The failover (2 s) is ten times shorter than b's take interval: only a scan at the expiry takes it within this bound.
    await waitFor('b takes the expired lease', () => b.coordinator.heldShardIds().length === 1, 10_000);
    expect(b.log.filter((e) => e.name === 'lease.taken').map((e) => e.how)).toEqual(['expired']);
    expect(a.log.filter((e) => e.name === 'lease.lost').map((e) => e.reason)).toEqual(['renewal_deadline']);
    expect(ledger.overlaps()).toEqual([]);
  }, 30_000);
});
