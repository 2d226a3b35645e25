/**
 * Which leases to take and which to ask for, from one scan of the table. Pure:
 * the coordinator feeds it the scan and its own expiry observations.
 *
 * Fair share: with S unfinished leases and K live workers (owners of
 * unexpired leases, plus us), everyone should end with floor(S/K) or
 * ceil(S/K). Unowned and expired leases are taken first, up to ceil(S/K).
 * Below floor(S/K) (or at it while someone holds more than ceil), we ask the
 * most loaded workers for their excess above floor, never more, so a lease
 * moves at most once per join or leave and nobody steals back (no ping-pong).
 * A lease with a pending handoff already counts for its future owner.
 *
 * Expired leases are the exception to the fair share when a worker joined
 * less than a failover ago (typically the replacement of the crashed one):
 * it counts towards the share, but it cannot see those leases expire until a
 * failover after its own first look at them, so leaving them to it would
 * double the failover. For expired leases the share is computed over the
 * workers that could see them expire (`canSeeExpiry`); the newcomer gets its
 * share later by planned handoffs, which reprocess nothing.
 */
import { isShardEnd, type Lease } from './lease.js';

export interface BalanceInput {
  readonly leases: readonly Lease[];
  readonly workerId: string;
  readonly isExpired: (lease: Lease) => boolean;
  /** False for a worker that appeared too recently to judge expiry as we do; all can when unset. */
  readonly canSeeExpiry?: (workerId: string) => boolean;
  readonly maxLeasesPerWorker: number;
  readonly maxHandoffRequests: number;
  /** For a fair, contention-spreading choice among equals; Math.random in production. */
  readonly random: () => number;
}

export interface BalancePlan {
  /** Unowned or expired leases to take now. */
  readonly take: readonly Lease[];
  /** Leases of live, over-loaded workers to ask for. */
  readonly requestHandoff: readonly Lease[];
  readonly target: { readonly low: number; readonly high: number; readonly workers: number; readonly leases: number };
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/** Who will hold the lease once pending moves complete; undefined if nobody live does. */
export function effectiveOwner(lease: Lease, isExpired: (lease: Lease) => boolean): string | undefined {
  if (lease.leaseOwner !== undefined && isExpired(lease)) return undefined;
  return lease.pendingOwner ?? lease.leaseOwner;
}

export function planBalance(input: BalanceInput): BalancePlan {
  const { workerId, isExpired, random } = input;
  const active = input.leases.filter((lease) => !isShardEnd(lease));
  const load = new Map<string, Lease[]>([[workerId, []]]);
  const available: Lease[] = [];
  for (const lease of active) {
    const owner = effectiveOwner(lease, isExpired);
    if (owner === undefined) {
      available.push(lease);
      continue;
    }
    const held = load.get(owner);
    if (held) held.push(lease);
    else load.set(owner, [lease]);
  }
  const workers = load.size;
  const cap = input.maxLeasesPerWorker;
  const low = Math.min(cap, Math.floor(active.length / workers));
  const high = Math.min(cap, Math.ceil(active.length / workers));
  const mine = load.get(workerId)!.length;
  const target = { low, high, workers, leases: active.length };

  const canSeeExpiry = input.canSeeExpiry ?? (() => true);
  const seers = [...load.keys()].filter((worker) => worker === workerId || canSeeExpiry(worker)).length;
  const highForExpired = Math.min(cap, Math.ceil(active.length / seers));
  const take: Lease[] = [];
  for (const lease of shuffled(available, random)) {
    if (mine + take.length < (lease.leaseOwner === undefined ? high : highForExpired)) take.push(lease);
  }
  if (take.length > 0) return { take, requestHandoff: [], target };

  const others = [...load.entries()]
    .filter(([owner]) => owner !== workerId)
    .sort((a, b) => b[1].length - a[1].length);
  const mostLoaded = others[0]?.[1].length ?? 0;
  let need = mine < low ? low - mine : mine < high && mostLoaded > high ? 1 : 0;
  need = Math.min(need, input.maxHandoffRequests);
  const requestHandoff: Lease[] = [];
  for (const [, leases] of others) {
    if (need === 0) break;
    const floor = mine < low ? low : high;
    const candidates = leases.filter((lease) => lease.pendingOwner === undefined && lease.leaseOwner !== undefined);
    const excess = Math.min(leases.length - floor, candidates.length);
    if (excess <= 0) continue;
    const asked = shuffled(candidates, random).slice(0, Math.min(need, excess));
    requestHandoff.push(...asked);
    need -= asked.length;
  }
  return { take: [], requestHandoff, target };
}
