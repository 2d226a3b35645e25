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

/**
 * What a failed condition meant, from the lease as stored now. A write that
 * timed out may have happened (the ambiguous write); its retry then expects a
 * counter that our own write already moved, and fails. So:
 * - still ours with a moved counter: only our writes moved it (another
 *   worker's take changes the owner, a handoff request leaves the counter
 *   alone), so retry from the stored version;
 * - exactly one increment past what we sent and in the state the write
 *   intended (released, or owned by the transfer's recipient): that increment
 *   was ours, since another worker's take and release would be two;
 * - anything else: someone else wrote it, and the lease is lost.
 */
export function afterFailedCondition(
  sent: Lease,
  stored: Lease | undefined,
  intended: ((lease: Lease) => boolean) | undefined,
): 'retry' | 'done' | 'lost' {
  if (stored === undefined || stored.leaseCounter === sent.leaseCounter) return 'lost';
  if (intended !== undefined && stored.leaseCounter === sent.leaseCounter + 1 && intended(stored)) return 'done';
  if (sent.leaseOwner !== undefined && stored.leaseOwner === sent.leaseOwner) return 'retry';
  return 'lost';
}

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
    const moved = await this.write('transfer', (lease) => this.store.takeLease(lease, newOwner), 'condition_failed', (stored) => stored.leaseOwner === newOwner);
    if (!moved) return false;
    this.markLostQuietly();
    this.events.emit('lease.handed_over', { leaseKey: this.leaseKey, newOwner });
    return true;
  }

  /** Lets the lease go so others take it at once. */
  async release(): Promise<void> {
    const released = await this.write('release', (lease) => this.store.releaseLease(lease), 'condition_failed', (stored) => stored.leaseOwner === undefined);
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
   * is checked against the stored lease (see afterFailedCondition): only when
   * another worker wrote it is the lease lost.
   */
  private write(
    what: string,
    attempt: (lease: Lease) => Promise<Lease | undefined>,
    onCondition: LossReason,
    intended?: (lease: Lease) => boolean,
  ): Promise<Lease | undefined> {
    const run = async (): Promise<Lease | undefined> => {
      for (let retry = 0; ; retry++) {
        if (this.checkDeadline()) return undefined;
        const sentAt = this.now();
        try {
          const sent = this.current;
          const result = await attempt(sent);
          if (this.isLost) return undefined;
          if (result) {
            // A checkpoint that was not forward returns the lease unwritten: nothing renewed it.
            if (result !== sent) this.confirmedAtMs = Math.max(this.confirmedAtMs, sentAt);
            this.current = result;
            return result;
          }
          const stored = await this.store.getLease(this.leaseKey);
          if (this.isLost) return undefined;
          const verdict = afterFailedCondition(sent, stored, intended);
          if (verdict === 'done') {
            // An earlier attempt that looked failed made this write; the lease is no longer ours to renew.
            this.current = stored!;
            return stored;
          }
          if (verdict === 'retry') {
            this.current = stored!;
            continue;
          }
          this.markLost(onCondition);
          return undefined;
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
