import { describe, expect, it } from 'vitest';
import { planBalance } from '../src/lease/balancer.js';
import { newLease, SHARD_END, type Lease } from '../src/lease/lease.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const lease = (i: number, owner?: string, extra: Partial<Lease> = {}): Lease => ({
  ...newLease({ shardId: `shardId-${String(i).padStart(12, '0')}` }, 'TRIM_HORIZON'),
  leaseOwner: owner,
  leaseCounter: 1,
  ...extra,
});

interface Table { leases: Lease[] }

/**
 * Runs workers' cycles against a shared table, applying each plan as the
 * coordinator would (takes at once; handoffs complete before the next round),
 * and counts how often each lease changes owner.
 */
function simulate(table: Table, workers: string[], rounds: number, random: () => number, expired = new Set<string>()) {
  const moves = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    for (const worker of workers) {
      const plan = planBalance({
        leases: table.leases, workerId: worker, isExpired: (l) => expired.has(l.leaseOwner ?? ''),
        maxLeasesPerWorker: Infinity, maxHandoffRequests: 4, random,
      });
      for (const taken of plan.take) {
        table.leases = table.leases.map((l) => (l.leaseKey === taken.leaseKey ? { ...l, leaseOwner: worker, leaseCounter: l.leaseCounter + 1 } : l));
        moves.set(taken.leaseKey, (moves.get(taken.leaseKey) ?? 0) + 1);
      }
      for (const asked of plan.requestHandoff) {
        table.leases = table.leases.map((l) => (l.leaseKey === asked.leaseKey ? { ...l, pendingOwner: worker } : l));
      }
    }
    table.leases = table.leases.map((l) => {
      if (l.pendingOwner === undefined) return l;
      moves.set(l.leaseKey, (moves.get(l.leaseKey) ?? 0) + 1);
      return { ...l, leaseOwner: l.pendingOwner, pendingOwner: undefined, leaseCounter: l.leaseCounter + 1 };
    });
  }
  return moves;
}

const counts = (table: Table, workers: string[]): number[] =>
  workers.map((w) => table.leases.filter((l) => l.leaseOwner === w && l.checkpoint !== SHARD_END).length);

describe('planBalance', () => {
  it('takes unowned leases up to the fair share', () => {
    const leases = Array.from({ length: 10 }, (_, i) => lease(i, i < 5 ? 'w1' : undefined));
    const plan = planBalance({ leases, workerId: 'w2', isExpired: () => false, maxLeasesPerWorker: Infinity, maxHandoffRequests: 4, random: seeded(1) });
    expect(plan.take).toHaveLength(5);
    expect(plan.requestHandoff).toHaveLength(0);
    expect(plan.target).toMatchObject({ low: 5, high: 5, workers: 2 });
  });

  it('takes expired leases and ignores finished ones', () => {
    const leases = [lease(0, 'dead'), lease(1, 'dead'), lease(2, undefined, { checkpoint: SHARD_END })];
    const plan = planBalance({ leases, workerId: 'me', isExpired: (l) => l.leaseOwner === 'dead', maxLeasesPerWorker: Infinity, maxHandoffRequests: 4, random: seeded(2) });
    expect(plan.take.map((l) => l.leaseKey).sort()).toEqual([leases[0]!.leaseKey, leases[1]!.leaseKey]);
  });

  it('asks the most loaded live workers for their excess only', () => {
    const leases = Array.from({ length: 10 }, (_, i) => lease(i, i < 5 ? 'w1' : 'w2'));
    const plan = planBalance({ leases, workerId: 'w3', isExpired: () => false, maxLeasesPerWorker: Infinity, maxHandoffRequests: 4, random: seeded(3) });
    expect(plan.take).toHaveLength(0);
    expect(plan.requestHandoff).toHaveLength(3);
    const asked = new Map<string, number>();
    for (const l of plan.requestHandoff) asked.set(l.leaseOwner!, (asked.get(l.leaseOwner!) ?? 0) + 1);
    for (const n of asked.values()) expect(n).toBeLessThanOrEqual(2);
  });

  it('takes a dead worker\'s expired leases beyond the share it would leave to a worker too new to see them expire', () => {
    // dead's 3 expired; a has 3 (one asked for by the newcomer n), b has 2.
    const leases = [
      lease(0, 'dead'), lease(1, 'dead'), lease(2, 'dead'),
      lease(3, 'a', { pendingOwner: 'n' }), lease(4, 'a'), lease(5, 'a'),
      lease(6, 'b'), lease(7, 'b'),
    ];
    const input = { leases, isExpired: (l: Lease) => l.leaseOwner === 'dead', maxLeasesPerWorker: Infinity, maxHandoffRequests: 4 };
    // Counting n, the share is 3: a and b would take one each and leave one to n, which sees it expire a failover later.
    expect(planBalance({ ...input, workerId: 'a', random: seeded(5) }).take).toHaveLength(1);
    const seeNew = (worker: string): boolean => worker !== 'n';
    const a = planBalance({ ...input, workerId: 'a', canSeeExpiry: seeNew, random: seeded(5) });
    const b = planBalance({ ...input, workerId: 'b', canSeeExpiry: seeNew, random: seeded(6) });
    expect(a.take).toHaveLength(2);
    expect(b.take).toHaveLength(2);
    expect([...a.take, ...b.take].every((l) => l.leaseOwner === 'dead')).toBe(true);
    expect(a.target).toMatchObject({ high: 3, workers: 3 });

    // Unowned leases everyone sees at once: the share stays the fair one.
    const unowned = leases.map((l) => (l.leaseOwner === 'dead' ? { ...l, leaseOwner: undefined } : l));
    expect(planBalance({ ...input, leases: unowned, workerId: 'a', canSeeExpiry: seeNew, random: seeded(5) }).take).toHaveLength(1);
  });

  it('counts pending handoffs for their future owner (no double asks)', () => {
    const leases = Array.from({ length: 4 }, (_, i) => lease(i, 'w1', i === 0 ? { pendingOwner: 'w2' } : {}));
    const plan = planBalance({ leases, workerId: 'w2', isExpired: () => false, maxLeasesPerWorker: Infinity, maxHandoffRequests: 4, random: seeded(4) });
    expect(plan.requestHandoff).toHaveLength(1);
    expect(plan.requestHandoff[0]!.pendingOwner).toBeUndefined();
  });

  for (const [shards, workerCount] of [[10, 3], [16, 5], [7, 7], [50, 4], [3, 5]] as const) {
    it(`${shards} shards over ${workerCount} workers end within +-1 of S/K, each lease moving at most once per join`, () => {
      const random = seeded(shards * 31 + workerCount);
      const table: Table = { leases: Array.from({ length: shards }, (_, i) => lease(i)) };
      simulate(table, ['w0'], 2, random);
      expect(counts(table, ['w0'])).toEqual([shards]);
      const workers = ['w0'];
      for (let k = 1; k < workerCount; k++) {
        workers.push(`w${k}`);
        const moves = simulate(table, workers, Math.ceil(shards / 4) + 2, random);
        for (const n of moves.values()) expect(n).toBe(1);
        const c = counts(table, workers);
        expect(c.reduce((a, b) => a + b, 0)).toBe(shards);
        expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
        for (const n of c) expect(Math.abs(n - shards / workers.length)).toBeLessThan(1);
      }
    });
  }

  it('redistributes a dead worker\'s leases and then stays put', () => {
    const random = seeded(9);
    const table: Table = { leases: Array.from({ length: 12 }, (_, i) => lease(i, `w${i % 3}`)) };
    const expired = new Set(['w2']);
    const moves = simulate(table, ['w0', 'w1'], 5, random, expired);
    expect(counts(table, ['w0', 'w1'])).toEqual([6, 6]);
    expect([...moves.values()].every((n) => n === 1)).toBe(true);
    expect(moves.size).toBe(4);
  });
});
