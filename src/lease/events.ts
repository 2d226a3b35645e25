/**
 * The lease layer's event catalogue. Metrics, logs and tests listen to these;
 * the lease code emits them and knows nothing of what listens. Payloads carry
 * shard and worker ids only (no record data).
 */
import { EventEmitter } from 'node:events';
import type { Checkpoint } from './lease.js';

export interface LeaseEvents {
  /** A lease became ours: it was unowned, expired (`previousOwner` dead) or handed to us. */
  'lease.taken': [{ leaseKey: string; previousOwner: string | undefined; how: 'unowned' | 'expired' | 'handoff' }];
  /** We asked a live worker to hand a lease over (balancing). */
  'lease.handoff_requested': [{ leaseKey: string; owner: string }];
  /** We handed a lease to the worker that asked for it, after checkpointing. */
  'lease.handed_over': [{ leaseKey: string; newOwner: string }];
  /** A held lease is gone: another worker wrote it, or renewal failed past the deadline. */
  'lease.lost': [{ leaseKey: string; reason: 'condition_failed' | 'renewal_deadline' | 'checkpoint_fenced' }];
  /** We let a lease go on shutdown; others take it on their next scan. */
  'lease.released': [{ leaseKey: string }];
  /** A renewal attempt failed with a retriable error; it is retried until the hold deadline. */
  'lease.renewal_failed': [{ leaseKey: string; error: string }];
  'lease.created': [{ leaseKey: string; parentShardIds: readonly string[] }];
  'lease.deleted': [{ leaseKey: string }];
  /** A table item that is not a lease this code can read; skipped. */
  'lease.item_skipped': [{ leaseKey: string | undefined; reason: string }];
  'checkpoint.written': [{ leaseKey: string; checkpoint: Checkpoint }];
  'shard.ended': [{ leaseKey: string; childShardIds: readonly string[] }];
  'shard_sync.completed': [{ shards: number; created: number; deleted: number; durationMs: number }];
  'shard_sync.failed': [{ error: string }];
  /** A scan/take cycle failed (store unreachable); the next cycle tries again. */
  'take_cycle.failed': [{ error: string }];
  /** Reading the parent shards' leases failed; the child waits and looks again. */
  'parents_check.failed': [{ leaseKey: string; error: string }];
  /** A record processor callback threw; the shard consumer restarts from the last checkpoint. */
  'processor.failed': [{ leaseKey: string; callback: string; error: string }];
}

export type LeaseEventName = keyof LeaseEvents;

export class LeaseEventBus extends EventEmitter<LeaseEvents> {}

export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : `${error.name}: ${error.message}`;
  }
  return String(error);
}
