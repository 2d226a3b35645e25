/**
 * Telemetry from the event buses: each bus's events move the catalogue's
 * metrics (alerting tested against its contract by emitting its events, as
 * the alerting engine will), /status and /readyz follow the sources, and the
 * server behaves: content type, readiness codes, a port in use named by its
 * variable, the port free again after close.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { loadMetricsServerConfig, loadOpenSearchConfig } from '../src/config/telemetry-env.js';
import type { CoordinatorStatus } from '../src/lease/coordinator.js';
import { LeaseEventBus } from '../src/lease/events.js';
import { AlertEventBus, type AlertingStatus, type OpenWindowSummary } from '../src/pipeline/alerting/events.js';
import { PipelineEventBus } from '../src/pipeline/events.js';
import { SearchEventBus } from '../src/pipeline/sinks/opensearch/events.js';
import type { SinkHealth } from '../src/pipeline/sinks/sink.js';
import { startTelemetryServer, type TelemetryServer } from '../src/telemetry/server.js';
import { LAST_ERRORS } from '../src/telemetry/status.js';
import { Telemetry } from '../src/telemetry/telemetry.js';

const healthy: SinkHealth = { healthy: true, lastSuccessMs: 1, consecutiveFailures: 0 };

class Sources {
  status: CoordinatorStatus = { workerId: 'w1', held: [], owners: {}, lastScanAgeMs: undefined };
  archive: SinkHealth = healthy;
  readonly coordinator = { status: (): CoordinatorStatus => this.status };
  readonly pool = { utilization: 0.25, queueSize: 3, threads: 2 };
  readonly pipeline = { inFlight: { batches: 4, waiting: 1 } };
  readonly sinks = [{ name: 'archive', health: (): SinkHealth => this.archive }, { name: 'dlq', health: (): SinkHealth => healthy }];
}

function held(shardId: string): CoordinatorStatus['held'][number] {
  return { shardId, state: 'processing', leaseCounter: 3, checkpoint: { sequenceNumber: '49', subSequenceNumber: 0 }, pendingOwner: undefined };
}

/** One sample's value from the exposition text; undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const servers: TelemetryServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function setup(): { sources: Sources; telemetry: Telemetry; lease: LeaseEventBus; pipeline: PipelineEventBus; alerts: AlertEventBus; search: SearchEventBus } {
  const sources = new Sources();
  const lease = new LeaseEventBus();
  const pipeline = new PipelineEventBus();
  const alerts = new AlertEventBus();
  const search = new SearchEventBus();
  const telemetry = new Telemetry({ workerId: 'w1', ...sources, coordinator: sources.coordinator }).watchLeases(lease).watchPipeline(pipeline).watchSearch(search);
  return { sources, telemetry, lease, pipeline, alerts, search };
}

describe('metrics from the event buses', () => {
  it('pipeline batches: records, invalid, DLQ by reason, lag per shard, batch duration, worker time, one update per batch', async () => {
    const { telemetry, pipeline } = setup();
    const batch = {
      shardId: 'shardId-000000000001', records: 100, subRecords: 120, valid: 110, invalid: 10, durationMs: 250, millisBehindLatest: 4_000,
      firstSequenceNumber: '1', lastSequenceNumber: '100', oldestArrivalAgeMs: 900, fingerprinted: 7, workerBusyMs: 40,
      deadLetterReasons: { schema_violation: 6, malformed_json: 4 },
    };
    pipeline.emit('batch.completed', batch);
    pipeline.emit('batch.completed', { ...batch, millisBehindLatest: 1_000, deadLetterReasons: undefined });
    pipeline.emit('sink.retry', { shardId: batch.shardId, sink: 'archive', error: 'SlowDown', attempt: 1 });
    const text = await telemetry.metrics.metrics();
    expect(sample(text, 'cali_records_processed_total{shard="shardId-000000000001"}')).toBe(200);
    expect(sample(text, 'cali_records_invalid_total{shard="shardId-000000000001"}')).toBe(20);
    expect(sample(text, 'cali_dlq_records_total{reason="schema_violation"}')).toBe(6);
    expect(sample(text, 'cali_dlq_records_total{reason="malformed_json"}')).toBe(4);
    expect(sample(text, 'cali_behind_latest_seconds{shard="shardId-000000000001"}')).toBe(1);
    expect(sample(text, 'cali_batch_duration_seconds_count')).toBe(2);
    expect(sample(text, 'cali_batch_duration_seconds_sum')).toBeCloseTo(0.5);
    expect(sample(text, 'cali_end_to_end_latency_seconds_bucket{le="1"}')).toBe(2);
    expect(sample(text, 'cali_worker_busy_seconds_total')).toBeCloseTo(0.08);
    expect(sample(text, 'cali_records_fingerprinted_total')).toBe(14);
    expect(sample(text, 'cali_sink_retries_total{sink="archive"}')).toBe(1);
    expect(sample(text, 'cali_worker_pool_utilization')).toBe(0.25);
    expect(sample(text, 'cali_worker_pool_queue_size')).toBe(3);
    expect(sample(text, 'cali_pipeline_inflight_batches')).toBe(4);
    expect(sample(text, 'cali_sink_healthy{sink="archive"}')).toBe(1);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_heap_size_used_bytes');
  });

  it('lease events: takes by how, a handoff take counts as a steal, losses, renewal failures; leases held read from the coordinator', async () => {
    const { sources, telemetry, lease } = setup();
    sources.status = { workerId: 'w1', held: [held('s1'), held('s2')], owners: { s1: 'w1', s2: 'w1', s3: null }, lastScanAgeMs: 10 };
    lease.emit('lease.taken', { leaseKey: 's1', previousOwner: undefined, how: 'unowned' });
    lease.emit('lease.taken', { leaseKey: 's2', previousOwner: 'w2', how: 'handoff' });
    lease.emit('lease.taken', { leaseKey: 's3', previousOwner: 'w3', how: 'expired' });
    lease.emit('lease.lost', { leaseKey: 's3', reason: 'renewal_deadline' });
    lease.emit('lease.renewal_failed', { leaseKey: 's1', error: 'ProvisionedThroughputExceededException: slow down' });
    lease.emit('checkpoint.written', { leaseKey: 's1', checkpoint: { sequenceNumber: '5', subSequenceNumber: 0 } });
    const text = await telemetry.metrics.metrics();
    expect(sample(text, 'cali_lease_takes_total{how="unowned"}')).toBe(1);
    expect(sample(text, 'cali_lease_takes_total{how="handoff"}')).toBe(1);
    expect(sample(text, 'cali_lease_takes_total{how="expired"}')).toBe(1);
    expect(sample(text, 'cali_lease_steals_total')).toBe(1);
    expect(sample(text, 'cali_lease_losses_total{reason="renewal_deadline"}')).toBe(1);
    expect(sample(text, 'cali_lease_losses_total{reason="condition_failed"}')).toBe(0);
    expect(sample(text, 'cali_lease_renewal_failures_total')).toBe(1);
    expect(sample(text, 'cali_checkpoints_total')).toBe(1);
    expect(sample(text, 'cali_leases_held')).toBe(2);
    expect(sample(text, 'cali_lease_table_leases{state="available"}')).toBe(1);
    expect(telemetry.status.report().lastErrors.map((e) => e.event)).toEqual(['lease.renewal_failed', 'lease.lost']);
  });

  it('alert events (the alerting contract): sent, suppressed, failed, dropped, windows; gauges from AlertingStatus; no fingerprint label', async () => {
    const { telemetry, alerts } = setup();
    const before = await telemetry.metrics.metrics();
    // Every label combination alerting can emit exists at 0 before the first event: rate() has a series from the start.
    expect(sample(before, 'cali_alerts_sent_total{destination="slack",kind="digest",severity="low"}')).toBe(0);
    expect(sample(before, 'cali_alert_windows_open')).toBe(0);
    const windows: OpenWindowSummary[] = Array.from({ length: 15 }, (_, i) => ({
      fingerprint: `fp${i}`, service: 'payment', ruleId: 'errors', count: 100 - i, openedAtMs: 1, closesAtMs: 2,
    }));
    const status: AlertingStatus = { openWindows: () => windows.length, queueDepth: () => 2, topWindows: (limit) => windows.slice(0, limit) };
    telemetry.watchAlerting(alerts, status);
    alerts.emit('window.opened', { fingerprint: 'a1b2c3d4e5f60718', ruleId: 'errors', claimed: true });
    alerts.emit('alert.sent', { destination: 'slack', kind: 'alert', severity: 'high', fingerprint: 'a1b2c3d4e5f60718', latencyMs: 300 });
    alerts.emit('alert.suppressed', { reason: 'window', count: 41, fingerprint: 'a1b2c3d4e5f60718' });
    alerts.emit('alert.failed', { destination: 'slack', kind: 'digest', error: 'http_429', retriable: true });
    alerts.emit('alert.dropped', { destination: 'slack', kind: 'digest', reason: 'queue_full' });
    alerts.emit('window.closed', { fingerprint: 'a1b2c3d4e5f60718', ruleId: 'errors', count: 42 });
    const text = await telemetry.metrics.metrics();
    expect(sample(text, 'cali_alerts_sent_total{destination="slack",kind="alert",severity="high"}')).toBe(1);
    expect(sample(text, 'cali_alerts_suppressed_total{reason="window"}')).toBe(41);
    expect(sample(text, 'cali_alert_delivery_failures_total{destination="slack",kind="digest",retriable="true"}')).toBe(1);
    expect(sample(text, 'cali_alerts_dropped_total{destination="slack",kind="digest",reason="queue_full"}')).toBe(1);
    expect(sample(text, 'cali_alert_windows_opened_total{claimed="true"}')).toBe(1);
    expect(sample(text, 'cali_alert_windows_closed_total')).toBe(1);
    expect(sample(text, 'cali_alert_delivery_seconds_sum{destination="slack"}')).toBeCloseTo(0.3);
    expect(sample(text, 'cali_alert_windows_open')).toBe(15);
    expect(sample(text, 'cali_alert_queue_depth')).toBe(2);
    expect(text).not.toContain('a1b2c3d4e5f60718');
    expect(text).not.toContain('fingerprint=');
    const report = telemetry.status.report();
    expect(report.alerting?.topWindows.map((w) => w.fingerprint)).toEqual(windows.slice(0, 10).map((w) => w.fingerprint));
    expect(report.lastErrors.map((e) => e.event)).toEqual(['alert.dropped', 'alert.failed']);
  });

  it('search events: documents by outcome, bulk requests, bytes', async () => {
    const { telemetry, search } = setup();
    search.emit('bulk.completed', { index: 'cali-logs-2026.11.29', documents: 10, indexed: 7, retried: 2, rejected: 1, bytes: 5_000, durationMs: 20 });
    search.emit('bulk.failed', { documents: 2, error: 'ConnectionError', retriable: true, durationMs: 5 });
    const text = await telemetry.metrics.metrics();
    expect(sample(text, 'cali_opensearch_documents_total{outcome="indexed"}')).toBe(7);
    expect(sample(text, 'cali_opensearch_documents_total{outcome="retried"}')).toBe(2);
    expect(sample(text, 'cali_opensearch_documents_total{outcome="rejected"}')).toBe(1);
    expect(sample(text, 'cali_opensearch_bulk_requests_total{outcome="partial"}')).toBe(1);
    expect(sample(text, 'cali_opensearch_bulk_requests_total{outcome="failed"}')).toBe(1);
    expect(sample(text, 'cali_opensearch_bulk_bytes_total')).toBe(5_000);
  });

  it('keeps only the last errors', () => {
    const { telemetry, pipeline } = setup();
    for (let i = 0; i < LAST_ERRORS + 5; i++) pipeline.emit('worker.crashed', { records: i, error: 'boom' });
    const errors = telemetry.status.report().lastErrors;
    expect(errors).toHaveLength(LAST_ERRORS);
    expect(errors[0]?.detail).toBe(`${LAST_ERRORS + 4} records: boom`);
  });
});

describe('readiness', () => {
  it('not ready before the first scan, ready holding leases, ready holding none when none are available, not ready with a sink down', () => {
    const { sources, telemetry, pipeline } = setup();
    expect(telemetry.status.readiness()).toEqual({ ready: false, reasons: ['the lease table has not been scanned yet'] });
    sources.status = { workerId: 'w1', held: [], owners: { s1: null, s2: 'w2' }, lastScanAgeMs: 5 };
    expect(telemetry.status.readiness().reasons).toEqual(['no lease held while some are available']);
    sources.status = { workerId: 'w1', held: [], owners: { s1: 'w3', s2: 'w2' }, lastScanAgeMs: 5 };
    expect(telemetry.status.readiness().ready).toBe(true);
    sources.status = { workerId: 'w1', held: [held('s1')], owners: { s1: 'w1', s2: null }, lastScanAgeMs: 5 };
    expect(telemetry.status.readiness().ready).toBe(true);
    pipeline.emit('batch.completed', {
      shardId: 's1', records: 1, subRecords: 1, valid: 1, invalid: 0, durationMs: 1, millisBehindLatest: 7_000,
      firstSequenceNumber: '1', lastSequenceNumber: '1', oldestArrivalAgeMs: undefined, fingerprinted: 0, workerBusyMs: 0, deadLetterReasons: undefined,
    });
    expect(telemetry.status.report().leases).toEqual([expect.objectContaining({ shardId: 's1', behindLatestMs: 7_000, checkpoint: '49' })]);
    sources.archive = { healthy: false, detail: '5 consecutive failed writes to s3://archive/', lastSuccessMs: 1, consecutiveFailures: 5 };
    expect(telemetry.status.readiness()).toEqual({ ready: false, reasons: ['sink archive unhealthy: 5 consecutive failed writes to s3://archive/'] });
  });

  it('a sink that does not gate the checkpoint shows its health but cannot make the worker unready', () => {
    const down: SinkHealth = { healthy: false, detail: '3 consecutive failed bulk requests to http://search:9200; last: ConnectionError', lastSuccessMs: undefined, consecutiveFailures: 3 };
    const status = { workerId: 'w', held: [held('s1')], owners: { s1: 'w' }, lastScanAgeMs: 1 };
    const optional = new Telemetry({ workerId: 'w', coordinator: { status: () => status }, sinks: [{ name: 'opensearch', required: false, health: () => down }] });
    expect(optional.status.readiness().ready).toBe(true);
    expect(optional.status.report().sinks).toEqual([{ name: 'opensearch', required: false, ...down }]);
    const gating = new Telemetry({ workerId: 'w', coordinator: { status: () => status }, sinks: [{ name: 'opensearch', required: true, health: () => down }] });
    expect(gating.status.readiness().ready).toBe(false);
  });
});

describe('the telemetry server', () => {
  it('serves /metrics in the Prometheus text format, /healthz, /readyz (503 until ready) and /status', async () => {
    const { sources, telemetry } = setup();
    const server = await startTelemetryServer(telemetry, { port: 0, host: '127.0.0.1' });
    servers.push(server);
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await metrics.text()).toContain('# TYPE cali_batch_duration_seconds histogram');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${server.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { reasons: string[] }).reasons).toEqual(['the lease table has not been scanned yet']);
    sources.status = { workerId: 'w1', held: [held('s1')], owners: { s1: 'w1' }, lastScanAgeMs: 5 };
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const status = (await (await fetch(`${server.url}/status`)).json()) as { workerId: string; leases: { shardId: string }[]; pool: { utilization: number }; sinks: { name: string }[] };
    expect(status.workerId).toBe('w1');
    expect(status.leases.map((l) => l.shardId)).toEqual(['s1']);
    expect(status.pool.utilization).toBe(0.25);
    expect(status.sinks.map((s) => s.name)).toEqual(['archive', 'dlq']);
  });

  it('fails with CALI_ERR_PORT_IN_USE naming CALI_METRICS_PORT when the port is taken, and frees its port on close', async () => {
    const { telemetry } = setup();
    const blocker = createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    try {
      await expect(startTelemetryServer(telemetry, { port, host: '127.0.0.1' })).rejects.toMatchObject({
        code: 'CALI_ERR_PORT_IN_USE', message: expect.stringMatching(/^CALI_METRICS_PORT: port \d+ on 127\.0\.0\.1 is already in use/),
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    const server = await startTelemetryServer(telemetry, { port, host: '127.0.0.1' });
    await server.close();
    const again = await startTelemetryServer(telemetry, { port, host: '127.0.0.1' });
    await again.close();
  });
});

describe('telemetry configuration', () => {
  it('CALI_METRICS_PORT defaults to 9464, accepts 0, names itself when wrong', () => {
    expect(loadMetricsServerConfig({})).toEqual({ port: 9464, host: '0.0.0.0' });
    expect(loadMetricsServerConfig({ CALI_METRICS_PORT: '0', CALI_METRICS_HOST: '127.0.0.1' })).toEqual({ port: 0, host: '127.0.0.1' });
    expect(() => loadMetricsServerConfig({ CALI_METRICS_PORT: '70000' })).toThrow(/^CALI_METRICS_PORT is "70000": set a port from 1 to 65535/);
    expect(() => loadMetricsServerConfig({ CALI_METRICS_PORT: 'metrics' })).toThrow(/CALI_METRICS_PORT/);
  });

  it('OPENSEARCH_URL enables the search sink; CALI_OPENSEARCH_* are checked and the URL\'s credentials stay out of its location', () => {
    expect(loadOpenSearchConfig({})).toBeUndefined();
    const config = loadOpenSearchConfig({ OPENSEARCH_URL: 'https://cali:s3cret@search.example:9200', CALI_OPENSEARCH_GATES_CHECKPOINT: 'true', CALI_OPENSEARCH_RETENTION_DAYS: '30' });
    expect(config).toMatchObject({ gatesCheckpoint: true, retentionDays: 30, location: 'https://search.example:9200', indexPrefix: 'cali-logs' });
    expect(() => loadOpenSearchConfig({ OPENSEARCH_URL: 'search:9200' })).toThrow(/OPENSEARCH_URL/);
    expect(() => loadOpenSearchConfig({ OPENSEARCH_URL: 'http://h:9200', CALI_OPENSEARCH_GATES_CHECKPOINT: 'maybe' })).toThrow(/^CALI_OPENSEARCH_GATES_CHECKPOINT is "maybe": set true or false/);
    expect(() => loadOpenSearchConfig({ OPENSEARCH_URL: 'http://h:9200', CALI_OPENSEARCH_INDEX_PREFIX: 'Logs' })).toThrow(/indexPrefix "Logs" is not a valid index name/);
    expect(() => loadOpenSearchConfig({ OPENSEARCH_URL: 'http://h:9200', CALI_OPENSEARCH_MAX_BULK_BYTES: 'lots' })).toThrow(/^CALI_OPENSEARCH_MAX_BULK_BYTES is "lots"/);
  });
});
