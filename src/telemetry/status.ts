/**
 * What /status and /readyz report, from event listeners (lag per shard, the
 * last errors) and the sources read on request (coordinator, pool, sinks,
 * alerting). Bounded: one entry per held shard, the last LAST_ERRORS errors.
 */
import type { CoordinatorStatus } from '../lease/coordinator.js';
import type { AlertingStatus, OpenWindowSummary } from '../pipeline/alerting/events.js';
import type { SinkHealth } from '../pipeline/sinks/sink.js';

export const LAST_ERRORS = 20;
export const TOP_WINDOWS = 10;

export interface StatusSources {
  readonly workerId: string;
  readonly coordinator?: { status(): CoordinatorStatus } | undefined;
  readonly pool?: { readonly utilization: number; readonly queueSize: number; readonly threads: number } | undefined;
  readonly pipeline?: { readonly inFlight: { batches: number; waiting: number } } | undefined;
  /** `required: false`: shown and measured, but a sink the checkpoint does not wait for cannot make the worker unready. */
  readonly sinks?: readonly { readonly name: string; readonly required?: boolean; health(): SinkHealth }[] | undefined;
  /** Set once alerting runs; absent, /status shows no windows. */
  alerting?: AlertingStatus | undefined;
}

export interface StatusError {
  readonly atMs: number;
  readonly event: string;
  readonly detail: string;
}

export interface ShardStatus {
  readonly shardId: string;
  readonly state: string;
  readonly checkpoint: string;
  readonly behindLatestMs: number | undefined;
  readonly lastBatchAgeMs: number | undefined;
}

export interface StatusReport {
  readonly workerId: string;
  readonly ready: Readiness;
  readonly leases: readonly ShardStatus[];
  readonly leaseTable: { readonly shards: number; readonly owned: number; readonly lastScanAgeMs: number | undefined };
  readonly pool: { readonly threads: number; readonly utilization: number; readonly queueSize: number } | undefined;
  readonly pipeline: { readonly inFlightBatches: number; readonly waitingShards: number } | undefined;
  readonly sinks: readonly ({ readonly name: string; readonly required: boolean } & SinkHealth)[];
  readonly alerting: { readonly openWindows: number; readonly queueDepth: number; readonly topWindows: readonly OpenWindowSummary[] } | undefined;
  readonly lastErrors: readonly StatusError[];
}

export interface Readiness {
  readonly ready: boolean;
  readonly reasons: readonly string[];
}

export class StatusTracker {
  private readonly shards = new Map<string, { behindLatestMs: number | undefined; atMs: number }>();
  private readonly errors: StatusError[] = [];

  constructor(readonly sources: StatusSources, private readonly now: () => number = Date.now) {}

  onBatch(shardId: string, millisBehindLatest: number | undefined): void {
    this.shards.set(shardId, { behindLatestMs: millisBehindLatest, atMs: this.now() });
  }

  forgetShard(shardId: string): void {
    this.shards.delete(shardId);
  }

  /** Event texts carry codes, shard ids and store messages, never credentials (the buses' contract). */
  error(event: string, detail: string): void {
    if (this.errors.length >= LAST_ERRORS) this.errors.shift();
    this.errors.push({ atMs: this.now(), event, detail: detail.length > 500 ? `${detail.slice(0, 500)}...` : detail });
  }

  /**
   * Ready when the worker holds leases, or every lease of the table is owned
   * by a live worker (nothing for it to take: a spare replica is healthy),
   * and no sink the checkpoint waits for needs an operator.
   */
  readiness(): Readiness {
    const reasons: string[] = [];
    const coordinator = this.sources.coordinator?.status();
    if (coordinator !== undefined) {
      const owners = Object.values(coordinator.owners);
      const available = owners.some((owner) => owner === null);
      if (coordinator.lastScanAgeMs === undefined) reasons.push('the lease table has not been scanned yet');
      else if (coordinator.held.length === 0 && (owners.length === 0 || available)) {
        reasons.push(owners.length === 0 ? 'the lease table has no leases yet' : 'no lease held while some are available');
      }
    }
    for (const sink of this.sources.sinks ?? []) {
      if (sink.required === false) continue;
      const health = sink.health();
      if (!health.healthy) reasons.push(`sink ${sink.name} unhealthy${health.detail === undefined ? '' : `: ${health.detail}`}`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  report(): StatusReport {
    const nowMs = this.now();
    const coordinator = this.sources.coordinator?.status();
    const owners = Object.values(coordinator?.owners ?? {});
    const { pool, pipeline, alerting } = this.sources;
    return {
      workerId: this.sources.workerId,
      ready: this.readiness(),
      leases: (coordinator?.held ?? []).map((held) => {
        const seen = this.shards.get(held.shardId);
        return {
          shardId: held.shardId,
          state: held.state,
          checkpoint: held.checkpoint.sequenceNumber,
          behindLatestMs: seen?.behindLatestMs,
          lastBatchAgeMs: seen === undefined ? undefined : nowMs - seen.atMs,
        };
      }),
      leaseTable: { shards: owners.length, owned: owners.filter((o) => o !== null).length, lastScanAgeMs: coordinator?.lastScanAgeMs },
      pool: pool === undefined ? undefined : { threads: pool.threads, utilization: pool.utilization, queueSize: pool.queueSize },
      pipeline: pipeline === undefined ? undefined : { inFlightBatches: pipeline.inFlight.batches, waitingShards: pipeline.inFlight.waiting },
      sinks: (this.sources.sinks ?? []).map((sink) => ({ name: sink.name, required: sink.required !== false, ...sink.health() })),
      alerting: alerting === undefined ? undefined : { openWindows: alerting.openWindows(), queueDepth: alerting.queueDepth(), topWindows: alerting.topWindows(TOP_WINDOWS) },
      lastErrors: [...this.errors].reverse(),
    };
  }
}
