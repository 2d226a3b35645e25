/**
 * Lease coordination settings, raw -> compiled once: defaults applied, units
 * in the names, cross-field rules checked, the result frozen.
 */
import { hostname } from 'node:os';
import { CaliError } from '../errors.js';
import type { CheckpointSentinel } from './lease.js';

export type InitialPosition =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'LATEST' }
  | { readonly type: 'AT_TIMESTAMP'; readonly timestampMs: number };

export interface LeaseConfigInput {
  readonly workerId?: string;
  /** A lease whose counter has not moved for this long, on the observer's clock, is expired. */
  readonly failoverMs?: number;
  /** Heartbeat of held leases; default failover / 3, as KCL. */
  readonly renewIntervalMs?: number;
  /**
   * How often the table is scanned to take, balance and notice releases; also
   * how late a dead owner's last renewal may be seen, so it bounds failover at
   * failoverMs plus this (plus the take). Default 500.
   */
  readonly takeIntervalMs?: number;
  /** Most leases asked of other live workers in one cycle. */
  readonly maxHandoffRequestsPerCycle?: number;
  /** How often shards are listed to create leases for new shards and clean up finished ones. */
  readonly shardSyncIntervalMs?: number;
  readonly initialPosition?: InitialPosition;
  /** Upper bound on leases one worker holds (memory and throughput); default unlimited. */
  readonly maxLeasesPerWorker?: number;
}

export interface LeaseConfig {
  readonly workerId: string;
  readonly failoverMs: number;
  readonly renewIntervalMs: number;
  readonly takeIntervalMs: number;
  readonly maxHandoffRequestsPerCycle: number;
  readonly shardSyncIntervalMs: number;
  readonly initialPosition: InitialPosition;
  readonly maxLeasesPerWorker: number;
  /**
   * A held lease not renewed for this long may already look expired to others
   * (their clocks started later, not earlier): stop processing it. Renewal
   * retries go on only until then.
   */
  readonly holdDeadlineMs: number;
}

export const DEFAULT_FAILOVER_MS = 10_000;
export const DEFAULT_TAKE_INTERVAL_MS = 500;
/** Every scan reads the whole table: more often than this costs reads and buys no faster failover worth having. */
const MIN_TAKE_INTERVAL_MS = 100;

function positive(name: string, value: number, fix: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new CaliError('CALI_ERR_CONFIG', `${name} must be a positive number of milliseconds, got ${value}: ${fix}`);
  return value;
}

export function compileLeaseConfig(input: LeaseConfigInput = {}): LeaseConfig {
  const failoverMs = positive('failoverMs (CALI_FAILOVER_MS)', input.failoverMs ?? DEFAULT_FAILOVER_MS, 'use e.g. 10000');
  if (failoverMs < 1_000) throw new CaliError('CALI_ERR_CONFIG', `failoverMs (CALI_FAILOVER_MS) must be at least 1000 ms, got ${failoverMs}: shorter leases expire on a GC pause`);
  const renewIntervalMs = positive('renewIntervalMs', input.renewIntervalMs ?? Math.round(failoverMs / 3), 'use at most a third of failoverMs');
  if (renewIntervalMs * 2 > failoverMs) {
    throw new CaliError('CALI_ERR_CONFIG', `renewIntervalMs (${renewIntervalMs}) must be at most half of failoverMs (${failoverMs}) so one lost renewal does not expire a lease`);
  }
  const workerId = input.workerId ?? `${hostname()}-${process.pid}`;
  if (!/^[\x21-\x7e]{1,256}$/.test(workerId)) {
    throw new CaliError('CALI_ERR_CONFIG', `workerId (CALI_WORKER_ID) "${workerId}" must be 1-256 printable ASCII characters without spaces`);
  }
  const takeIntervalMs = positive('takeIntervalMs (CALI_TAKE_INTERVAL_MS)', input.takeIntervalMs ?? DEFAULT_TAKE_INTERVAL_MS, `use e.g. ${DEFAULT_TAKE_INTERVAL_MS}`);
  if (takeIntervalMs < MIN_TAKE_INTERVAL_MS) {
    throw new CaliError('CALI_ERR_CONFIG', `takeIntervalMs (CALI_TAKE_INTERVAL_MS) must be at least ${MIN_TAKE_INTERVAL_MS} ms, got ${takeIntervalMs}: every scan reads the whole lease table`);
  }
  const initialPosition = input.initialPosition ?? { type: 'TRIM_HORIZON' };
  if (initialPosition.type === 'AT_TIMESTAMP' && !Number.isFinite(initialPosition.timestampMs)) {
    throw new CaliError('CALI_ERR_CONFIG', 'AT_TIMESTAMP needs a valid timestamp');
  }
  return Object.freeze({
    workerId,
    failoverMs,
    renewIntervalMs,
    takeIntervalMs,
    maxHandoffRequestsPerCycle: Math.max(1, Math.floor(input.maxHandoffRequestsPerCycle ?? 4)),
    shardSyncIntervalMs: positive('shardSyncIntervalMs', input.shardSyncIntervalMs ?? 30_000, 'use e.g. 30000'),
    initialPosition: Object.freeze({ ...initialPosition }),
    maxLeasesPerWorker: input.maxLeasesPerWorker ?? Number.POSITIVE_INFINITY,
    // Others expire us failoverMs after THEY last saw a new counter, which is no
    // earlier than our last successful renewal: leave a renewal interval of margin.
    holdDeadlineMs: failoverMs - renewIntervalMs,
  });
}

export function initialCheckpointSentinel(position: InitialPosition): CheckpointSentinel {
  return position.type;
}
