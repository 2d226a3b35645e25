/**
 * One lease this worker holds, and the only path by which it is written while
 * held. Renewals and checkpoints both expect (owner, counter) and both
 * increment the counter, so they must not overlap: every write goes through
 * one queue per lease, and each write starts from the version the previous
 * one returned.
 */
import type { LeaseConfig } from './config.js';
import { errorText, type LeaseEventBus } from './events.js';
import { compareCheckpoints, type Checkpoint, type Lease } from './lease.js';
import { LeaseStoreError, type CheckpointUpdate, type LeaseStore } from './lease-store.js';

export type LossReason = 'condition_failed' | 'renewal_deadline' | 'checkpoint_fenced';

/** Thrown to a checkpoint caller once the lease is gone; never retried. */
export class LeaseLostError extends Error {
  readonly code = 'CALI_ERR_LEASE_LOST';
  readonly retriable = false;

  constructor(readonly leaseKey: string, readonly reason: LossReason) {
    super(`lease ${leaseKey} is no longer held (${reason}): stop processing this shard`);
    this.name = 'LeaseLostError';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const RETRY_BASE_MS = 25;

export class HeldLease {
  private current: Lease;
  /** Monotonic time when the last successful write was SENT (the write happened no earlier). */
  private confirmedAtMs: number;
  private queue: Promise<unknown> = Promise.resolve();
  private lossReason: LossReason | undefined;
  private readonly lossController = new AbortController();

  constructor(
    lease: Lease,
    takenAtMs: number,
    private readonly store: LeaseStore,
    private readonly config: LeaseConfig,
    private readonly events: LeaseEventBus,
    private readonly now: () => number,
  ) {
    this.current = lease;
    this.confirmedAtMs = takenAtMs;
  }

  get leaseKey(): string {
    return this.current.leaseKey;
  }

  get lease(): Lease {
    return this.current;
  }

  get isLost(): boolean {
    return this.lossReason !== undefined;
  }

  /** Aborted when the lease is lost: readers and processors listen to it. */
  get lostSignal(): AbortSignal {
    return this.lossController.signal;
  }

  /** Time since the last successful write of any kind (a checkpoint renews too: it bumps the counter). */
  get sinceConfirmedMs(): number {
    return this.now() - this.confirmedAtMs;
  }

  /** Past this monotonic time the lease may look expired to others. */
  get deadlineMs(): number {
    return this.confirmedAtMs + this.config.holdDeadlineMs;
  }

  /** Declares the lease lost (once) and tells everyone listening. */
  markLost(reason: LossReason): void {
    if (this.lossReason) return;
    this.lossReason = reason;
    this.lossController.abort(new LeaseLostError(this.leaseKey, reason));
    this.events.emit('lease.lost', { leaseKey: this.leaseKey, reason });
  }

  /** Marks it lost if the deadline passed without a confirmed write; true if lost. */
  checkDeadline(): boolean {
    if (!this.isLost && this.now() > this.deadlineMs) this.markLost('renewal_deadline');
    return this.isLost;
  }

  /** The heartbeat. Resolves to the renewed lease (its pendingOwner included), or undefined when lost. */
  renew(): Promise<Lease | undefined> {
    return this.write('renewal', (lease) => this.store.renewLease(lease), 'condition_failed');
  }

  /** A fenced, forward-only checkpoint; throws LeaseLostError when the lease is gone. */
  async checkpoint(update: CheckpointUpdate): Promise<void> {
    let wrote = false;
    const written = await this.write('checkpoint', async (lease) => {
      const forward = compareCheckpoints(update.checkpoint, lease.checkpoint) > 0;
      if (!forward && update.childShardIds === undefined) return lease;
      wrote = true;
      return this.store.updateCheckpoint(lease, update);
    }, 'checkpoint_fenced');
    if (!written) throw new LeaseLostError(this.leaseKey, this.lossReason ?? 'checkpoint_fenced');
    if (wrote) this.events.emit('checkpoint.written', { leaseKey: this.leaseKey, checkpoint: written.checkpoint });
  }

  /** Gives the lease to the worker that asked for it. False if that failed (the lease then counts as lost). */
  async transferTo(newOwner: string): Promise<boolean> {
    const moved = await this.write('transfer', (lease) => this.store.takeLease(lease, newOwner), 'condition_failed');
    if (!moved) return false;
    this.markLostQuietly();
    this.events.emit('lease.handed_over', { leaseKey: this.leaseKey, newOwner });
    return true;
  }

  /** Lets the lease go so others take it at once. */
  async release(): Promise<void> {
    const released = await this.write('release', (lease) => this.store.releaseLease(lease), 'condition_failed');
    if (!released) return;
    this.markLostQuietly();
    this.events.emit('lease.released', { leaseKey: this.leaseKey });
  }

  /** The last checkpoint written (or the start position). */
  get lastCheckpoint(): Checkpoint {
    return this.current.checkpoint;
  }

  /** After a release or transfer the lease is no longer ours, but nothing was lost. */
  private markLostQuietly(): void {
    this.lossReason ??= 'condition_failed';
    this.lossController.abort(new LeaseLostError(this.leaseKey, 'condition_failed'));
  }

  /**
   * Runs one conditional write in the lease's queue, retrying retriable store
   * errors with jittered backoff until the hold deadline. A failed condition
   * means another worker wrote the lease: it is lost.
   */
  private write(what: string, attempt: (lease: Lease) => Promise<Lease | undefined>, onCondition: LossReason): Promise<Lease | undefined> {
    const run = async (): Promise<Lease | undefined> => {
      for (let retry = 0; ; retry++) {
        if (this.checkDeadline()) return undefined;
        const sentAt = this.now();
        try {
          const result = await attempt(this.current);
          if (this.isLost) return undefined;
          if (!result) {
            this.markLost(onCondition);
            return undefined;
          }
          this.current = result;
          this.confirmedAtMs = Math.max(this.confirmedAtMs, sentAt);
          return result;
        } catch (error) {
          if (what === 'renewal') this.events.emit('lease.renewal_failed', { leaseKey: this.leaseKey, error: errorText(error) });
          const retriable = !(error instanceof LeaseStoreError) || error.retriable;
          if (!retriable && what !== 'renewal') throw error;
          // Short, jittered retries: a renewal must land within the hold deadline, a few renew intervals away.
          const backoff = Math.min(this.config.renewIntervalMs / 4, RETRY_BASE_MS * 2 ** Math.min(retry, 6));
          const wait = Math.min(Math.random() * backoff, Math.max(0, this.deadlineMs - this.now()));
          await sleep(wait);
        }
      }
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
