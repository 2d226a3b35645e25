/**
 * Metrics and /status from the event buses: the domain emits, this listens.
 * Pull-style values (leases held, pool utilisation, sink health, alerting
 * gauges) are read when Prometheus scrapes, never pushed from the domain.
 */
import type { LeaseEventBus } from '../lease/events.js';
import type { AlertEventBus } from '../pipeline/alerting/events.js';
import type { PipelineEventBus } from '../pipeline/events.js';
import type { RagEventBus } from '../pipeline/rag/events.js';
import type { SearchEventBus } from '../pipeline/sinks/opensearch/events.js';
import type { CaliMetrics } from './metrics.js';
import type { StatusTracker } from './status.js';

export function bindPipelineEvents(bus: PipelineEventBus, metrics: CaliMetrics, status: StatusTracker): void {
  bus.on('batch.completed', (e) => {
    const shard = e.shardId;
    metrics.batches.inc({ shard });
    metrics.recordsProcessed.inc({ shard }, e.records);
    metrics.subRecordsProcessed.inc({ shard }, e.subRecords);
    metrics.recordsValid.inc({ shard }, e.valid);
    metrics.recordsInvalid.inc({ shard }, e.invalid);
    if (e.fingerprinted > 0) metrics.recordsFingerprinted.inc(e.fingerprinted);
    metrics.workerBusy.inc(e.workerBusyMs / 1000);
    metrics.batchDuration.observe(e.durationMs / 1000);
    if (e.oldestArrivalAgeMs !== undefined) metrics.endToEndLatency.observe(Math.max(0, e.oldestArrivalAgeMs) / 1000);
    if (e.millisBehindLatest !== undefined) metrics.behindLatest.set({ shard }, e.millisBehindLatest / 1000);
    if (e.deadLetterReasons !== undefined) {
      for (const [reason, count] of Object.entries(e.deadLetterReasons)) metrics.dlqRecords.inc({ reason }, count);
    }
    status.onBatch(shard, e.millisBehindLatest);
  });
  bus.on('incidents.detected', (e) => metrics.incidentCandidates.inc(e.candidates.length));
  bus.on('sink.retry', (e) => {
    metrics.sinkRetries.inc({ sink: e.sink });
    status.error('sink.retry', `${e.sink} on ${e.shardId} (attempt ${e.attempt}): ${e.error}`);
  });
  bus.on('sink.skipped', (e) => {
    metrics.sinkSkipped.inc({ sink: e.sink }, e.lines);
    status.error('sink.skipped', `${e.sink} skipped ${e.lines} lines of ${e.shardId}: ${e.error}`);
  });
  bus.on('worker.crashed', (e) => {
    metrics.workerCrashes.inc();
    status.error('worker.crashed', `${e.records} records: ${e.error}`);
  });
  bus.on('worker.pool_replaced', (e) => {
    metrics.poolReplacements.inc();
    status.error('worker.pool_replaced', `a new pool of ${e.threads} threads took over`);
  });
  bus.on('shard.cancelled', (e) => {
    metrics.shardCancellations.inc();
    status.forgetShard(e.shardId);
  });
}

export function bindLeaseEvents(bus: LeaseEventBus, metrics: CaliMetrics, status: StatusTracker): void {
  bus.on('lease.taken', (e) => {
    metrics.leaseTakes.inc({ how: e.how });
    if (e.how === 'handoff') metrics.leaseSteals.inc();
  });
  bus.on('lease.handoff_requested', () => metrics.leaseHandoffRequests.inc());
  bus.on('lease.handed_over', (e) => {
    metrics.leaseHandovers.inc();
    status.forgetShard(e.leaseKey);
  });
  bus.on('lease.lost', (e) => {
    metrics.leaseLosses.inc({ reason: e.reason });
    status.forgetShard(e.leaseKey);
    status.error('lease.lost', `${e.leaseKey}: ${e.reason}`);
  });
  bus.on('lease.released', (e) => {
    metrics.leaseReleases.inc();
    status.forgetShard(e.leaseKey);
  });
  bus.on('lease.renewal_failed', (e) => {
    metrics.leaseRenewalFailures.inc();
    status.error('lease.renewal_failed', `${e.leaseKey}: ${e.error}`);
  });
  bus.on('checkpoint.written', () => metrics.checkpoints.inc());
  bus.on('shard.ended', (e) => {
    metrics.shardsEnded.inc();
    status.forgetShard(e.leaseKey);
  });
  bus.on('shard_sync.completed', () => metrics.shardSyncs.inc({ outcome: 'ok' }));
  bus.on('shard_sync.failed', (e) => {
    metrics.shardSyncs.inc({ outcome: 'failed' });
    status.error('shard_sync.failed', e.error);
  });
  bus.on('parents_check.failed', (e) => {
    metrics.parentsCheckFailures.inc();
    status.error('parents_check.failed', `${e.leaseKey}: ${e.error}`);
  });
  bus.on('take_cycle.failed', (e) => {
    metrics.takeCycleFailures.inc();
    status.error('take_cycle.failed', e.error);
  });
  bus.on('processor.failed', (e) => {
    metrics.processorFailures.inc();
    status.error('processor.failed', `${e.leaseKey} ${e.callback}: ${e.error}`);
  });
}

/** Fingerprints in these payloads are for logs only: no metric takes them as a label. */
export function bindAlertEvents(bus: AlertEventBus, metrics: CaliMetrics, status: StatusTracker): void {
  bus.on('alert.sent', (e) => {
    metrics.alertsSent.inc({ destination: e.destination, kind: e.kind, severity: e.severity });
    metrics.alertLatency.observe({ destination: e.destination }, e.latencyMs / 1000);
  });
  bus.on('alert.suppressed', (e) => metrics.alertsSuppressed.inc({ reason: e.reason }, e.count));
  bus.on('alert.failed', (e) => {
    metrics.alertFailures.inc({ destination: e.destination, kind: e.kind, retriable: String(e.retriable) });
    status.error('alert.failed', `${e.destination} ${e.kind}: ${e.error}${e.retriable ? ' (will retry)' : ''}`);
  });
  bus.on('alert.dropped', (e) => {
    metrics.alertsDropped.inc({ destination: e.destination, kind: e.kind, reason: e.reason });
    status.error('alert.dropped', `${e.destination} ${e.kind}: ${e.reason}`);
  });
  bus.on('window.opened', (e) => metrics.alertWindowsOpened.inc({ claimed: String(e.claimed) }));
  bus.on('window.closed', () => metrics.alertWindowsClosed.inc());
}

/** RAG: analyses, not external calls, are what cali_rag_requests_total counts (docs/rag.md maps every event). */
export function bindRagEvents(bus: RagEventBus, metrics: CaliMetrics, status: StatusTracker): void {
  bus.on('rag.analysis', (e) => {
    metrics.ragRequests.inc({ analyzer: e.analyzer });
    metrics.ragDuration.observe(e.latencyMs / 1000);
    if (e.degraded) metrics.ragErrors.inc();
  });
  bus.on('rag.cache', (e) => {
    if (e.hit) metrics.ragCacheHits.inc();
  });
  bus.on('rag.tokens', (e) => {
    metrics.ragTokens.inc({ type: 'prompt' }, e.promptTokens);
    metrics.ragTokens.inc({ type: 'completion' }, e.completionTokens);
    metrics.ragSpend.inc(e.estimatedUsd);
  });
  bus.on('rag.error', (e) => {
    if (!e.retriable) status.error('rag.error', `${e.call} via ${e.provider}: ${e.error}`);
  });
  bus.on('rag.skipped', (e) => status.error('rag.skipped', `${e.call}: ${e.reason}`));
}

export function bindSearchEvents(bus: SearchEventBus, metrics: CaliMetrics, status: StatusTracker): void {
  bus.on('bulk.completed', (e) => {
    metrics.searchBulkRequests.inc({ outcome: e.rejected > 0 || e.retried > 0 ? 'partial' : 'ok' });
    metrics.searchDocuments.inc({ outcome: 'indexed' }, e.indexed);
    if (e.retried > 0) {
      metrics.searchDocuments.inc({ outcome: 'retried' }, e.retried);
      metrics.searchItemRetries.inc(e.retried);
    }
    if (e.rejected > 0) metrics.searchDocuments.inc({ outcome: 'rejected' }, e.rejected);
    metrics.searchBulkBytes.inc(e.bytes);
    metrics.searchBulkDuration.observe(e.durationMs / 1000);
  });
  bus.on('bulk.failed', (e) => {
    metrics.searchBulkRequests.inc({ outcome: 'failed' });
    metrics.searchBulkDuration.observe(e.durationMs / 1000);
    status.error('opensearch.bulk_failed', `${e.documents} documents${e.retriable ? ' (will retry)' : ''}: ${e.error}`);
  });
  bus.on('documents.rejected', (e) => status.error('opensearch.rejected', `${e.documents} documents to the DLQ: ${e.reason}`));
}
