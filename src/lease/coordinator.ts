/**
 * The lease coordinator: one per worker process. It scans the lease table on
 * a short cycle (take, balance, notice releases and handoff requests), renews
 * what it holds, syncs shards, and runs one ShardConsumer per held lease.
 *
 * Expiry is judged on our own monotonic clock: a lease whose counter has not
 * changed for failoverMs since WE first saw that counter is expired, so the
 * workers' wall clocks need not agree.
 */
import type { LeaseConfig } from './config.js';
import { errorText, LeaseEventBus } from './events.js';
import { HeldLease } from './held-lease.js';
import { isShardEnd, type Checkpoint, type Lease } from './lease.js';
import { LeaseStoreError, type LeaseStore } from './lease-store.js';
import { planBalance } from './balancer.js';
import type { ShardReaderFactory, ShardRecordProcessorFactory } from './record-processor.js';
import { ShardConsumer, type ShardConsumerState } from './shard-consumer.js';
import type { ShardSyncer } from './shard-sync.js';
import { sleep } from '../sleep.js';

export interface LeaseCoordinatorDeps {
  readonly store: LeaseStore;
  readonly config: LeaseConfig;
  readonly syncer: Pick<ShardSyncer, 'sync' | 'createChildLeases'>;
  readonly processorFactory: ShardRecordProcessorFactory;
  readonly readerFactory: ShardReaderFactory;
  readonly events?: LeaseEventBus;
  /** Monotonic milliseconds; injectable for tests. */
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface HeldLeaseStatus {
  readonly shardId: string;
  readonly state: ShardConsumerState;
  readonly leaseCounter: number;
  readonly checkpoint: Checkpoint;
  readonly pendingOwner: string | undefined;
}

export interface CoordinatorStatus {
  readonly workerId: string;
  readonly held: readonly HeldLeaseStatus[];
  /** Owner per shard as of the last scan (undefined: unowned or expired). */
  readonly owners: Readonly<Record<string, string | null>>;
  readonly lastScanAgeMs: number | undefined;
}

/** About a minute of retries at start-up before a table that keeps failing is reported. */
const START_ATTEMPTS = 15;
/** A scan brought forward to an expiry runs this much after it, so that the lease has expired by then. */
const EXPIRY_MARGIN_MS = 5;
/** Scans brought forward by expiries never follow each other closer than this. */
const MIN_SCAN_GAP_MS = 50;

interface Observation {
  counter: number;
  owner: string | undefined;
  sinceMs: number;
}

interface Running {
  readonly held: HeldLease;
  readonly consumer: ShardConsumer;
  /** Set when the owner-side of a planned handoff has begun. */
  handoffTo: string | undefined;
}


export class LeaseCoordinator {
  readonly events: LeaseEventBus;
  private readonly config: LeaseConfig;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly observations = new Map<string, Observation>();
  /** When each worker named in the table (owner or pending owner) was first seen by us, for planBalance's canSeeExpiry. */
  private readonly workersSeen = new Map<string, number>();
  private readonly running = new Map<string, Running>();
  /** Shards whose consumer is still winding down: not restarted until it has. */
  private readonly stopping = new Map<string, Promise<void>>();
  private readonly skippedReported = new Set<string>();
  private readonly stopController = new AbortController();
  private loops: Promise<void>[] = [];
  private lastScan: { atMs: number; leases: readonly Lease[] } | undefined;
  private lastSyncFailed = false;

  constructor(private readonly deps: LeaseCoordinatorDeps) {
    this.config = deps.config;
    this.events = deps.events ?? new LeaseEventBus();
    this.now = deps.now ?? (() => performance.now());
    this.random = deps.random ?? Math.random;
  }

  get workerId(): string {
    return this.config.workerId;
  }

  /** Creates the table if needed (retrying throttling and 5xx for a while), syncs shards once, then runs the loops. */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deps.store.ensureTable();
        break;
      } catch (error) {
        const retriable = error instanceof LeaseStoreError && error.retriable;
        if (!retriable || attempt >= START_ATTEMPTS) throw error;
        await sleep(Math.min(5_000, 100 * 2 ** attempt) * (0.5 + this.random() / 2), this.stopController.signal);
      }
    }
    await this.syncShards();
    const signal = this.stopController.signal;
    this.loops = [
      this.every((startedMs) => this.nextScanAtMs(startedMs) - startedMs, () => this.takeCycle(), signal, this.random() * this.config.takeIntervalMs),
      this.every(() => this.config.renewIntervalMs, () => this.renewCycle(), signal, 0),
      this.every(() => this.nextSyncDelayMs(), () => this.syncShards(), signal, this.nextSyncDelayMs()),
    ];
  }

  /**
   * Graceful stop: no more taking; every consumer finishes its batch and
   * checkpoints (shutdownRequested); then the leases are released so other
   * workers take them on their next scan rather than after expiry.
   */
  async stop(): Promise<void> {
    this.stopController.abort();
    await Promise.allSettled(this.loops);
    const all = [...this.running.values()];
    await Promise.allSettled(all.map(async (run) => {
      await run.consumer.requestShutdown();
      if (!run.held.isLost) await run.held.release();
    }));
    this.running.clear();
    await Promise.allSettled([...this.stopping.values()]);
    await this.releaseLeftovers();
  }

  /**
   * Leases the table still says are ours although nothing here runs them: one
   * whose write looked failed (a take that timed out but happened, a release
   * given up), or one given up at its hold deadline. While any stays ours, we
   * still count as a live worker to the others, whose fair share then keeps
   * them from taking what we did release until that lease expires. Nothing of
   * ours processes any shard now, so each is released, conditional on the
   * counter just read; a few retries, bounded by the hold deadline.
   */
  private async releaseLeftovers(): Promise<void> {
    const until = this.now() + this.config.holdDeadlineMs;
    for (let attempt = 0; this.now() < until; attempt++) {
      try {
        const { leases } = await this.deps.store.listLeases();
        const ours = leases.filter((lease) => lease.leaseOwner === this.workerId);
        if (ours.length === 0) return;
        await Promise.all(ours.map(async (lease) => {
          if (await this.deps.store.releaseLease(lease)) this.events.emit('lease.released', { leaseKey: lease.leaseKey });
        }));
      } catch (error) {
        this.events.emit('take_cycle.failed', { error: errorText(error) });
        await sleep(Math.min(this.config.takeIntervalMs, 50 * 2 ** attempt) * (0.5 + this.random() / 2));
      }
    }
  }

  /** What /status shows. */
  status(): CoordinatorStatus {
    const owners: Record<string, string | null> = {};
    for (const lease of this.lastScan?.leases ?? []) {
      owners[lease.leaseKey] = lease.leaseOwner !== undefined && !this.isExpired(lease) ? lease.leaseOwner : null;
    }
    return {
      workerId: this.workerId,
      held: [...this.running.values()].map(({ held, consumer }) => ({
        shardId: held.leaseKey,
        state: consumer.state,
        leaseCounter: held.lease.leaseCounter,
        checkpoint: held.lease.checkpoint,
        pendingOwner: held.lease.pendingOwner,
      })),
      owners,
      lastScanAgeMs: this.lastScan ? this.now() - this.lastScan.atMs : undefined,
    };
  }

  heldShardIds(): string[] {
    return [...this.running.keys()];
  }

  private async every(intervalMs: (startedMs: number) => number, task: () => Promise<void>, signal: AbortSignal, firstDelayMs: number): Promise<void> {
    await sleep(firstDelayMs, signal);
    while (!signal.aborted) {
      const started = this.now();
      await task();
      await sleep(Math.max(0, intervalMs(started) - (this.now() - started)), signal);
    }
  }

  /**
   * The next scan: one take interval after this one started, or sooner, just
   * after the moment a lease we watch would expire if its counter stays where
   * it is. A crashed worker's leases are then taken failoverMs after we saw
   * their last counter, not up to a whole take interval later. Live owners
   * move their counters every renewal (failover / 3), so with the defaults
   * their leases do not bring a scan forward, and leases that already
   * expired (and that we left to others) are not waited for again.
   */
  private nextScanAtMs(startedMs: number): number {
    const now = this.now();
    let next = startedMs + this.config.takeIntervalMs;
    for (const seen of this.observations.values()) {
      if (seen.owner === undefined || seen.owner === this.workerId) continue;
      const expiresAt = seen.sinceMs + this.config.failoverMs;
      if (expiresAt > now && expiresAt + EXPIRY_MARGIN_MS < next) next = expiresAt + EXPIRY_MARGIN_MS;
    }
    return Math.max(next, startedMs + MIN_SCAN_GAP_MS);
  }

  private isExpired(lease: Lease): boolean {
    const seen = this.observations.get(lease.leaseKey);
    return lease.leaseOwner !== undefined && seen !== undefined && this.now() - seen.sinceMs >= this.config.failoverMs;
  }

  private observe(leases: readonly Lease[]): void {
    const now = this.now();
    const keys = new Set<string>();
    for (const lease of leases) {
      keys.add(lease.leaseKey);
      const seen = this.observations.get(lease.leaseKey);
      if (!seen || seen.counter !== lease.leaseCounter || seen.owner !== lease.leaseOwner) {
        this.observations.set(lease.leaseKey, { counter: lease.leaseCounter, owner: lease.leaseOwner, sinceMs: now });
      }
    }
    for (const key of this.observations.keys()) if (!keys.has(key)) this.observations.delete(key);
    const named = new Set(leases.flatMap((lease) => [lease.leaseOwner, lease.pendingOwner]).filter((worker) => worker !== undefined));
    for (const worker of named) if (!this.workersSeen.has(worker)) this.workersSeen.set(worker, now);
    for (const worker of this.workersSeen.keys()) if (!named.has(worker)) this.workersSeen.delete(worker);
  }

  private async takeCycle(): Promise<void> {
    try {
      const listing = await this.deps.store.listLeases();
      for (const item of listing.skipped) {
        const key = `${item.leaseKey}:${item.reason}`;
        if (this.skippedReported.has(key)) continue;
        this.skippedReported.add(key);
        this.events.emit('lease.item_skipped', item);
      }
      const leases = listing.leases;
      this.observe(leases);
      this.lastScan = { atMs: this.now(), leases };
      if (this.stopController.signal.aborted) return;

      const me = this.workerId;
      // Ours in the table but not running here: handed to us, or held by an
      // earlier process with our worker id. Either way: ours to take now.
      const adopt = leases.filter((lease) => lease.leaseOwner === me && !this.running.has(lease.leaseKey) && !isShardEnd(lease));
      const plan = planBalance({
        leases,
        workerId: me,
        isExpired: (lease) => this.isExpired(lease) && lease.leaseOwner !== me,
        canSeeExpiry: (worker) => this.now() - (this.workersSeen.get(worker) ?? this.now()) >= this.config.failoverMs,
        maxLeasesPerWorker: this.config.maxLeasesPerWorker,
        maxHandoffRequests: this.config.maxHandoffRequestsPerCycle,
        random: this.random,
      });
      const takes = [
        ...adopt.map((lease) => ({ lease, how: 'handoff' as const })),
        ...plan.take.filter((lease) => lease.leaseOwner !== me).map((lease) => ({ lease, how: lease.leaseOwner === undefined ? 'unowned' as const : 'expired' as const })),
      ];
      await Promise.all(takes.map(({ lease, how }) => this.take(lease, how)));
      await Promise.all(plan.requestHandoff.map(async (lease) => {
        if (await this.deps.store.requestHandoff(lease, me)) {
          this.events.emit('lease.handoff_requested', { leaseKey: lease.leaseKey, owner: lease.leaseOwner! });
        }
      }));
    } catch (error) {
      this.events.emit('take_cycle.failed', { error: errorText(error) });
    }
  }

  private async take(lease: Lease, how: 'unowned' | 'expired' | 'handoff'): Promise<void> {
    if (this.running.has(lease.leaseKey) || this.stopController.signal.aborted) return;
    const sentAt = this.now();
    const taken = await this.deps.store.takeLease(lease, this.workerId);
    if (!taken) return;
    const previousOwner = lease.leaseOwner === this.workerId ? undefined : lease.leaseOwner;
    this.events.emit('lease.taken', { leaseKey: lease.leaseKey, previousOwner, how });
    await this.stopping.get(lease.leaseKey);
    this.startConsumer(new HeldLease(taken, sentAt, this.deps.store, this.config, this.events, this.now));
  }

  private startConsumer(held: HeldLease): void {
    const consumer = new ShardConsumer(held, {
      processor: this.deps.processorFactory(held.leaseKey),
      readerFactory: this.deps.readerFactory,
      parentsDone: (parents) => this.parentsDone(parents),
      createChildLeases: (children) => this.deps.syncer.createChildLeases(children),
      config: this.config,
      events: this.events,
      atTimestampMs: this.config.initialPosition.type === 'AT_TIMESTAMP' ? this.config.initialPosition.timestampMs : undefined,
    });
    const run: Running = { held, consumer, handoffTo: undefined };
    this.running.set(held.leaseKey, run);
    void consumer.start().then(() => this.afterConsumer(run));
  }

  /** A consumer ended: hand over, release a finished shard, or just forget a lost lease. */
  private async afterConsumer(run: Running): Promise<void> {
    // Never rejects: it runs detached from the consumer's promise.
    const key = run.held.leaseKey;
    const finishing = (async () => {
      if (run.held.isLost) return;
      if (run.handoffTo !== undefined) {
        await run.held.transferTo(run.handoffTo);
      } else if (isShardEnd(run.held.lease) && !this.stopController.signal.aborted) {
        await run.held.release();
      }
    })();
    this.stopping.set(key, finishing.catch(() => undefined));
    try {
      await finishing;
    } catch (error) {
      this.events.emit('take_cycle.failed', { error: errorText(error) });
    } finally {
      this.stopping.delete(key);
      if (this.running.get(key) === run && !this.stopController.signal.aborted) this.running.delete(key);
    }
  }

  /**
   * Renews each held lease that no checkpoint renewed recently (a checkpoint
   * bumps the counter too, so busy shards cost no renewal writes), and starts
   * the owner's side of a handoff that any write brought back.
   */
  private async renewCycle(): Promise<void> {
    const dueAfterMs = this.config.renewIntervalMs * 0.9;
    await Promise.all([...this.running.values()].map(async (run) => {
      // Renewals go on during a handoff: finishing the batch may take a while.
      if (run.held.isLost) return;
      if (run.held.sinceConfirmedMs >= dueAfterMs) await run.held.renew();
      const requester = run.held.isLost ? undefined : run.held.lease.pendingOwner;
      if (requester !== undefined && requester !== this.workerId && run.handoffTo === undefined) {
        // Planned move: the consumer finishes its batch and checkpoints, then afterConsumer transfers.
        run.handoffTo = requester;
        void run.consumer.requestShutdown();
      }
    }));
    for (const run of this.running.values()) run.held.checkDeadline();
  }

  private async parentsDone(parentShardIds: readonly string[]): Promise<boolean> {
    for (const parent of parentShardIds) {
      const lease = await this.deps.store.getLease(parent);
      if (lease && !isShardEnd(lease)) return false;
    }
    return true;
  }

  /** Jittered so replicas do not sync in step; soon again after a failure (a new stream may have no leases yet). */
  private nextSyncDelayMs(): number {
    if (this.lastSyncFailed) return this.config.takeIntervalMs * 2;
    return this.config.shardSyncIntervalMs * (0.75 + this.random() / 2);
  }

  private async syncShards(): Promise<void> {
    try {
      await this.deps.syncer.sync();
      this.lastSyncFailed = false;
    } catch (error) {
      this.lastSyncFailed = true;
      this.events.emit('shard_sync.failed', { error: errorText(error) });
    }
  }
}
