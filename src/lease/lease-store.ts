/**
 * Storage of leases. Every write that changes who may process a shard, or how
 * far it is processed, is conditional on the `leaseCounter` (and the owner)
 * that the writer last saw: that is what fences a worker that lost its lease.
 *
 * A failed condition is an expected outcome (another worker moved first) and
 * is returned as `undefined`/`false`, never thrown. Thrown errors are
 * LeaseStoreError: `retriable` for throttling, 5xx and timeouts (the caller
 * retries with backoff within its own deadline), not retriable otherwise;
 * except `ensureTable`, whose failures are CaliError CALI_ERR_LEASE_TABLE with
 * the operator's fix in the message (wrong key schema, no permission).
 */
import type { Checkpoint, Lease } from './lease.js';

export interface SkippedItem {
  /** The item's leaseKey when it has a readable one. */
  readonly leaseKey: string | undefined;
  readonly reason: string;
}

export interface LeaseListing {
  readonly leases: readonly Lease[];
  /** Foreign or corrupt items: reported (and logged by the caller), never fatal. */
  readonly skipped: readonly SkippedItem[];
}

export interface CheckpointUpdate {
  readonly checkpoint: Checkpoint;
  /** Recorded at shard end (from GetRecords' ChildShards). */
  readonly childShardIds?: readonly string[];
}

export interface LeaseStore {
  /** Creates the table if missing (PAY_PER_REQUEST) and waits until it is usable. */
  ensureTable(): Promise<void>;

  /** Every lease, read strongly consistent, across pages. */
  listLeases(): Promise<LeaseListing>;

  getLease(leaseKey: string): Promise<Lease | undefined>;

  /** Creates the lease unless an item with its key exists; false when one does. */
  createLeaseIfNotExists(lease: Lease): Promise<boolean>;

  /**
   * The owner's heartbeat: counter + 1, expecting `lease`'s owner and counter.
   * Returns the stored lease after the write (including a `pendingOwner` that
   * a handoff request set), or undefined when the lease was lost.
   */
  renewLease(lease: Lease): Promise<Lease | undefined>;

  /**
   * Gives the lease to `newOwner`: owner := newOwner, counter + 1,
   * ownerSwitchesSinceCheckpoint + 1 when the owner changes, pendingOwner
   * removed; expecting `lease`'s counter and owner (or no owner). Used to take
   * an unowned or expired lease, and by an owner to transfer a lease it was
   * asked to hand over. Undefined when someone else wrote first.
   */
  takeLease(lease: Lease, newOwner: string): Promise<Lease | undefined>;

  /**
   * Asks the owner to hand the lease over: pendingOwner := requester, expecting
   * `lease`'s owner and no pendingOwner. Leaves the counter alone so the
   * owner's renewals keep succeeding; they return the request.
   */
  requestHandoff(lease: Lease, requester: string): Promise<boolean>;

  /**
   * The owner lets go (graceful shutdown): owner and pendingOwner removed,
   * counter + 1, expecting `lease`'s owner and counter. Other workers may take
   * it on their next scan instead of waiting for it to expire.
   */
  releaseLease(lease: Lease): Promise<Lease | undefined>;

  /**
   * Writes a checkpoint: counter + 1, ownerSwitchesSinceCheckpoint := 0,
   * expecting `lease`'s owner and counter (fenced). The caller ensures it only
   * moves forward. Undefined when the lease was lost.
   */
  updateCheckpoint(lease: Lease, update: CheckpointUpdate): Promise<Lease | undefined>;

  /** Removes the lease, expecting `lease`'s counter; false when it changed. */
  deleteLease(lease: Lease): Promise<boolean>;
}

export class LeaseStoreError extends Error {
  readonly code = 'CALI_ERR_LEASE_STORE';

  constructor(message: string, readonly retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LeaseStoreError';
  }
}
