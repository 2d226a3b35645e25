/**
 * The coordinator on the in-memory store with fault injection: fencing of a
 * stale worker, renewal through throttling, racing workers, corrupt items,
 * graceful release and planned handoffs that reprocess nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileLeaseConfig, type LeaseConfigInput } from '../src/lease/config.js';
import { LeaseCoordinator } from '../src/lease/coordinator.js';
import { LeaseEventBus, type LeaseEvents } from '../src/lease/events.js';
import { newLease } from '../src/lease/lease.js';
import { FaultInjectingLeaseStore } from '../src/lease/faulty-lease-store.js';
import type { LeaseStore } from '../src/lease/lease-store.js';
import { MemoryLeaseStore } from '../src/lease/memory-lease-store.js';
import { waitFor } from './support/cluster.js';
import { FakeStream, ProcessingLedger } from './support/fake-stream.js';

// Short enough for quick tests, long enough that a busy CI event loop does not expire a lease.
const FAST: LeaseConfigInput = { failoverMs: 2_000, takeIntervalMs: 100, shardSyncIntervalMs: 60_000 };
const running: LeaseCoordinator[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

function worker(workerId: string, store: LeaseStore, stream: FakeStream, ledger: ProcessingLedger, options: { blockWhile?: () => boolean; config?: LeaseConfigInput } = {}) {
  const events = new LeaseEventBus();
  const log: { name: keyof LeaseEvents; at: number; leaseKey?: string; reason?: string }[] = [];
  for (const name of ['lease.taken', 'lease.lost', 'lease.released', 'lease.handed_over', 'lease.item_skipped', 'lease.renewal_failed', 'parents_check.failed'] as const) {
    events.on(name, (payload: { leaseKey?: string; reason?: string }) => log.push({ name, at: performance.now(), leaseKey: payload.leaseKey, reason: payload.reason }));
  }
  const coordinator = new LeaseCoordinator({
    store,
    config: compileLeaseConfig({ ...FAST, ...options.config, workerId }),
    events,
    syncer: stream.syncer(store),
    processorFactory: ledger.processorFactory(workerId, options),
    readerFactory: stream.readerFactory(),
  });
  running.push(coordinator);
  return { coordinator, log };
}

const heldCounts = (coordinators: LeaseCoordinator[]): number[] => coordinators.map((c) => c.heldShardIds().length);

describe('lease coordinator', () => {
  it('fences a stale worker: it stops before another takes over, and its late checkpoint fails', async () => {
    const memory = new MemoryLeaseStore();
    const faulty = new FaultInjectingLeaseStore(memory, { seed: 1 });
    const stream = new FakeStream(1);
    stream.append(50);
    const ledger = new ProcessingLedger();
    let paused = false;
    const a = worker('a', faulty, stream, ledger, { blockWhile: () => paused });
    await a.coordinator.start();
    await waitFor('a processes', () => ledger.processed.size === 50, 5_000);

    // a's process stalls in the middle of a batch and cannot reach the table.
    paused = true;
    stream.append(10);
    faulty.setOutage(true);
    const b = worker('b', memory, stream, ledger);
    await b.coordinator.start();
    await waitFor('b takes the expired lease', () => b.coordinator.heldShardIds().length === 1, 5_000);
    const lostAt = a.log.find((e) => e.name === 'lease.lost')?.at;
    const takenAt = b.log.find((e) => e.name === 'lease.taken')?.at;
    expect(lostAt).toBeDefined();
    expect(lostAt!).toBeLessThan(takenAt!);

    faulty.setOutage(false);
    paused = false;
    await waitFor('a\'s late checkpoint is refused', () => ledger.checkpointErrors.length > 0, 5_000);
    expect(ledger.checkpointErrors[0]).toEqual({ workerId: 'a', code: 'CALI_ERR_LEASE_LOST' });
    expect(ledger.overlaps()).toEqual([]);
    const lease = await memory.getLease('shardId-000000000000');
    expect(lease?.leaseOwner).toBe('b');
    expect(a.coordinator.heldShardIds()).toEqual([]);
  });

  it('keeps its leases through heavy throttling, and gives them up once they may have expired', async () => {
    const memory = new MemoryLeaseStore();
    const faulty = new FaultInjectingLeaseStore(memory, { seed: 7, faults: { throttleRate: 0.2, serverErrorRate: 0.05, latencyRate: 0.3, latencyMs: [5, 60] } });
    const stream = new FakeStream(4);
    const ledger = new ProcessingLedger();
    const w = worker('w', faulty, stream, ledger);
    await w.coordinator.start();
    await waitFor('all four held', () => w.coordinator.heldShardIds().length === 4, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(w.log.filter((e) => e.name === 'lease.lost')).toEqual([]);
    expect(w.log.some((e) => e.name === 'lease.renewal_failed')).toBe(true);
    expect(faulty.injected.throttles).toBeGreaterThan(5);

    faulty.setOutage(true);
    const outageAt = performance.now();
    await waitFor('leases given up', () => w.log.filter((e) => e.name === 'lease.lost').length === 4, 5_000);
    const lostAfter = Math.max(...w.log.filter((e) => e.name === 'lease.lost').map((e) => e.at)) - outageAt;
    // The hold deadline (failover - renew interval) from the last confirmed renewal.
    expect(lostAfter).toBeLessThan(2_000);
  });

  it('waits out a failing look at the parent leases instead of crashing, then processes the child', async () => {
    const memory = new MemoryLeaseStore();
    // Only the parents check reads single leases; half of those reads are throttled.
    const faulty = new FaultInjectingLeaseStore(memory, { seed: 3, operations: { getLease: { throttleRate: 0.5 } } });
    await memory.createLeaseIfNotExists(newLease({ shardId: 'shardId-000000000000', parentShardIds: ['shardId-parent'] }, 'TRIM_HORIZON'));
    const stream = new FakeStream(1);
    stream.append(20);
    const ledger = new ProcessingLedger();
    const w = worker('w', faulty, stream, ledger);
    await w.coordinator.start();
    await waitFor('child processed', () => ledger.processed.size === 20, 10_000);
    expect(faulty.injected.throttles).toBeGreaterThan(0);
    expect(w.log.some((e) => e.name === 'parents_check.failed' && e.leaseKey === 'shardId-000000000000')).toBe(true);
  });

  it('never lets two racing workers process one shard at the same time', async () => {
    const memory = new MemoryLeaseStore();
    const stream = new FakeStream(12);
    const ledger = new ProcessingLedger();
    const coordinators = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'].map((id) => worker(id, memory, stream, ledger).coordinator);
    await Promise.all(coordinators.map((c) => c.start()));
    for (let i = 0; i < 20; i++) {
      stream.append(3);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const counts = await waitFor('balanced', () => {
      const c = heldCounts(coordinators);
      return c.every((n) => n === 2) ? c : undefined;
    }, 15_000);
    expect(counts).toEqual([2, 2, 2, 2, 2, 2]);
    // Two leave (one gracefully, one by losing its table access) while appends go on.
    await coordinators[0]!.stop();
    running.splice(running.indexOf(coordinators[0]!), 1);
    for (let i = 0; i < 20; i++) {
      stream.append(3);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitFor('rebalanced over five', () => heldCounts(coordinators.slice(1)).every((n) => n === 2 || n === 3) && heldCounts(coordinators.slice(1)).reduce((a, b) => a + b) === 12, 15_000);
    await waitFor('everything processed', () => ledger.processed.size === stream.total, 10_000);
    expect(ledger.overlaps()).toEqual([]);
    expect(ledger.duplicates).toBe(0);
  }, 60_000);

  it('stays fenced when writes succeed but look failed (ambiguous timeouts)', async () => {
    const memory = new MemoryLeaseStore();
    const stream = new FakeStream(8);
    const ledger = new ProcessingLedger();
    const coordinators = ['x1', 'x2', 'x3'].map((id, i) => worker(id, new FaultInjectingLeaseStore(memory, {
      seed: 100 + i,
      operations: { renewLease: { ambiguousRate: 0.1 }, takeLease: { ambiguousRate: 0.2 }, updateCheckpoint: { ambiguousRate: 0.05 } },
    }), stream, ledger).coordinator);
    await Promise.all(coordinators.map((c) => c.start()));
    for (let i = 0; i < 30; i++) {
      stream.append(2);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitFor('everything processed', () => ledger.processed.size === stream.total, 20_000);
    expect(ledger.overlaps()).toEqual([]);
  }, 40_000);

  it('skips foreign and corrupt items with one warning each, and goes on', async () => {
    const memory = new MemoryLeaseStore();
    await memory.putRawItem({ leaseKey: { S: 'not-a-lease' }, something: { S: 'else' } });
    await memory.putRawItem({ leaseKey: { S: 'shardId-999' }, leaseCounter: { S: 'seven' }, checkpoint: { S: 'TRIM_HORIZON' } });
    const stream = new FakeStream(2);
    stream.append(5);
    const ledger = new ProcessingLedger();
    const w = worker('w', memory, stream, ledger);
    await w.coordinator.start();
    await waitFor('processing', () => ledger.processed.size === 10, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const skipped = w.log.filter((e) => e.name === 'lease.item_skipped');
    expect(skipped.map((e) => e.leaseKey).sort()).toEqual(['not-a-lease', 'shardId-999']);
  });

  it('releases on stop so another worker resumes within a scan, and planned handoffs reprocess nothing', async () => {
    const memory = new MemoryLeaseStore();
    const stream = new FakeStream(6);
    const ledger = new ProcessingLedger();
    const a = worker('a', memory, stream, ledger);
    await a.coordinator.start();
    await waitFor('a holds all', () => a.coordinator.heldShardIds().length === 6, 5_000);
    const b = worker('b', memory, stream, ledger);
    await b.coordinator.start();
    for (let i = 0; i < 15; i++) {
      stream.append(4);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitFor('3 and 3', () => heldCounts([a.coordinator, b.coordinator]).join() === '3,3', 10_000);
    expect(a.log.filter((e) => e.name === 'lease.handed_over')).toHaveLength(3);
    const status = a.coordinator.status();
    expect(status.workerId).toBe('a');
    expect(status.held.map((h) => h.state)).toEqual(['processing', 'processing', 'processing']);
    expect(Object.values(status.owners).sort()).toEqual(['a', 'a', 'a', 'b', 'b', 'b']);

    await a.coordinator.stop();
    running.splice(running.indexOf(a.coordinator), 1);
    const stoppedAt = performance.now();
    await waitFor('b holds all', () => b.coordinator.heldShardIds().length === 6, 5_000);
    const resumeGap = Math.max(...b.log.filter((e) => e.name === 'lease.taken' && e.at >= stoppedAt).map((e) => e.at)) - stoppedAt;
    expect(resumeGap).toBeLessThan(1_000);
    stream.append(4);
    await waitFor('everything processed', () => ledger.processed.size === stream.total, 5_000);
    expect(ledger.duplicates).toBe(0);
    expect(ledger.overlaps()).toEqual([]);
  }, 30_000);
});
