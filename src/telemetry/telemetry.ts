/**
 * One process's telemetry: the metric registry, the status tracker, and the
 * listeners on the buses the composition root hands over. Gauges that mirror
 * state (leases held, pool, sinks) are read from their sources on scrape.
 */
import type { LeaseEventBus } from '../lease/events.js';
import type { AlertEventBus, AlertingStatus } from '../pipeline/alerting/events.js';
import type { PipelineEventBus } from '../pipeline/events.js';
import type { RagEventBus } from '../pipeline/rag/events.js';
import type { SearchEventBus } from '../pipeline/sinks/opensearch/events.js';
import { bindAlertEvents, bindLeaseEvents, bindPipelineEvents, bindRagEvents, bindSearchEvents } from './bindings.js';
import { CaliMetrics } from './metrics.js';
import { StatusTracker, type StatusSources } from './status.js';

/** Label values known up front are exported at 0, so a rate() over them has a series before the first event. */
const ALERT_KINDS = ['alert', 'digest', 'update', 'analysis', 'summary'] as const;
const ALERT_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
const SUPPRESSION_REASONS = ['window', 'silenced', 'below_threshold', 'claimed_elsewhere', 'no_rule'] as const;
const DROP_REASONS = ['queue_full', 'rejected', 'payload_invalid', 'shutdown'] as const;
const LEASE_TAKE_HOW = ['unowned', 'expired', 'handoff'] as const;
const LEASE_LOSS_REASONS = ['condition_failed', 'renewal_deadline', 'checkpoint_fenced'] as const;

export class Telemetry {
  readonly metrics = new CaliMetrics();
  readonly status: StatusTracker;

  constructor(readonly sources: StatusSources, options: { readonly alertDestinations?: readonly string[] } = {}) {
    this.status = new StatusTracker(sources);
    const m = this.metrics;
    m.info.set({ worker_id: sources.workerId }, 1);
    m.pulled.leasesHeld = () => sources.coordinator?.status().held.length ?? 0;
    m.pulled.leaseTable = () => {
      const owners = Object.values(sources.coordinator?.status().owners ?? {});
      const owned = owners.filter((owner) => owner !== null).length;
      return { owned, available: owners.length - owned };
    };
    m.pulled.pool = () => sources.pool ?? { utilization: 0, queueSize: 0, threads: 0 };
    m.pulled.pipeline = () => sources.pipeline?.inFlight ?? { batches: 0, waiting: 0 };
    m.pulled.sinks = () => (sources.sinks ?? []).map((sink) => ({ name: sink.name, healthy: sink.health().healthy }));
    m.pulled.alerting = () => {
      const alerting = sources.alerting;
      return alerting === undefined ? undefined : { openWindows: alerting.openWindows(), queueDepth: alerting.queueDepth() };
    };
    for (const how of LEASE_TAKE_HOW) m.leaseTakes.inc({ how }, 0);
    for (const reason of LEASE_LOSS_REASONS) m.leaseLosses.inc({ reason }, 0);
    for (const outcome of ['ok', 'failed']) m.shardSyncs.inc({ outcome }, 0);
    for (const sink of sources.sinks ?? []) {
      m.sinkRetries.inc({ sink: sink.name }, 0);
      m.sinkSkipped.inc({ sink: sink.name }, 0);
    }
    for (const destination of options.alertDestinations ?? ['slack']) {
      m.alertLatency.zero({ destination });
      for (const kind of ALERT_KINDS) {
        for (const severity of ALERT_SEVERITIES) m.alertsSent.inc({ destination, kind, severity }, 0);
        for (const retriable of ['true', 'false']) m.alertFailures.inc({ destination, kind, retriable }, 0);
        for (const reason of DROP_REASONS) m.alertsDropped.inc({ destination, kind, reason }, 0);
      }
    }
    for (const reason of SUPPRESSION_REASONS) m.alertsSuppressed.inc({ reason }, 0);
    for (const claimed of ['true', 'false']) m.alertWindowsOpened.inc({ claimed }, 0);
    for (const outcome of ['indexed', 'retried', 'rejected']) m.searchDocuments.inc({ outcome }, 0);
    for (const outcome of ['ok', 'partial', 'failed']) m.searchBulkRequests.inc({ outcome }, 0);
    for (const type of ['prompt', 'completion']) m.ragTokens.inc({ type }, 0);
    for (const analyzer of ['retrieval', 'llm']) m.ragRequests.inc({ analyzer }, 0);
  }

  watchLeases(bus: LeaseEventBus): this {
    bindLeaseEvents(bus, this.metrics, this.status);
    return this;
  }

  watchPipeline(bus: PipelineEventBus): this {
    bindPipelineEvents(bus, this.metrics, this.status);
    return this;
  }

  /** Alerting's events, and its status for the gauges and /status once it runs. */
  watchAlerting(bus: AlertEventBus, status?: AlertingStatus): this {
    bindAlertEvents(bus, this.metrics, this.status);
    if (status !== undefined) this.sources.alerting = status;
    return this;
  }

  watchRag(bus: RagEventBus): this {
    bindRagEvents(bus, this.metrics, this.status);
    return this;
  }

  watchSearch(bus: SearchEventBus): this {
    bindSearchEvents(bus, this.metrics, this.status);
    return this;
  }
}
