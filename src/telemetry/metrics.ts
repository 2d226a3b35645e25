/**
 * The metric catalogue (docs/metrics.md documents every entry): one registry
 * per process, `cali_` prefix, base units (seconds, bytes), counters ending in
 * `_total`. Labels come from small fixed sets (shard id, sink, reason code,
 * destination...); fingerprints, messages and record ids never become labels.
 * Nothing here is called per record: counters move once per batch or event.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Batch and end-to-end latencies: from a few milliseconds to a minute behind. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** State read when Prometheus scrapes (gauges that mirror it, rather than being pushed). */
export interface PulledState {
  leasesHeld?: () => number;
  leaseTable?: () => { owned: number; available: number };
  pool?: () => { utilization: number; queueSize: number; threads: number };
  pipeline?: () => { batches: number; waiting: number };
  sinks?: () => readonly { name: string; healthy: boolean }[];
  alerting?: () => { openWindows: number; queueDepth: number } | undefined;
}

export class CaliMetrics {
  readonly registry = new Registry();
  /** Filled by the composition (Telemetry); read on scrape. */
  readonly pulled: PulledState = {};

  // Pipeline
  readonly recordsProcessed = this.counter('cali_records_processed_total', 'Kinesis records whose batch every required sink acknowledged', ['shard']);
  readonly subRecordsProcessed = this.counter('cali_subrecords_processed_total', 'Log events decoded from those records (Fluent Bit joins and KPL aggregates split)', ['shard']);
  readonly recordsValid = this.counter('cali_records_valid_total', 'Log events that passed validation and went to the archive', ['shard']);
  readonly recordsInvalid = this.counter('cali_records_invalid_total', 'Log events that failed decoding or validation', ['shard']);
  readonly dlqRecords = this.counter('cali_dlq_records_total', 'Dead letters acknowledged by the DLQ sink, by reason code', ['reason']);
  readonly recordsFingerprinted = this.counter('cali_records_fingerprinted_total', 'Log events fingerprinted by the workers (level at or above the threshold)');
  readonly incidentCandidates = this.counter('cali_incident_candidates_total', 'Per-batch incident candidates (one per fingerprint per batch) handed to alerting');
  readonly batches = this.counter('cali_batches_total', 'Batches completed (every required sink acknowledged)', ['shard']);
  readonly batchDuration = this.histogram('cali_batch_duration_seconds', 'From a batch handed to the workers to every required sink acknowledged', [], LATENCY_BUCKETS);
  readonly endToEndLatency = this.histogram('cali_end_to_end_latency_seconds', 'Age of a batch\'s oldest record (Kinesis arrival) when its sinks acknowledged it', [], LATENCY_BUCKETS);
  readonly workerBusy = this.counter('cali_worker_busy_seconds_total', 'Worker-thread time spent on batches (reported with each batch result)');
  readonly behindLatest = this.gauge('cali_behind_latest_seconds', 'MillisBehindLatest of the last batch read from the shard, in seconds', ['shard']);
  readonly sinkRetries = this.counter('cali_sink_retries_total', 'Failed writes to a required sink; the batch is retried and the checkpoint waits', ['sink']);
  readonly sinkSkipped = this.counter('cali_sink_skipped_lines_total', 'Lines a non-gating sink (the search index when it does not gate) failed or refused', ['sink']);
  readonly sinkHealthy = this.pulledGauge('cali_sink_healthy', '1 when the sink\'s recent writes succeed, 0 when it needs attention', ['sink'], (g) => {
    for (const sink of this.pulled.sinks?.() ?? []) g.set({ sink: sink.name }, sink.healthy ? 1 : 0);
  });
  readonly workerCrashes = this.counter('cali_worker_crashes_total', 'Worker-thread crashes, counted against the batch the thread was running (it is retried, then bisected)');
  readonly poolReplacements = this.counter('cali_worker_pool_replacements_total', 'Times the worker pool was rebuilt because piscina stopped replacing dead threads');
  readonly shardCancellations = this.counter('cali_shard_cancellations_total', 'Times in-flight batches of a shard were dropped because its lease was lost');
  readonly pipelineInFlight = this.pulledGauge('cali_pipeline_inflight_batches', 'Batches between the workers and the checkpoint', [], (g) => g.set(this.pulled.pipeline?.().batches ?? 0));
  readonly pipelineWaiting = this.pulledGauge('cali_pipeline_waiting_shards', 'Shards waiting for room in the pipeline (backpressure)', [], (g) => g.set(this.pulled.pipeline?.().waiting ?? 0));
  readonly poolUtilization = this.pulledGauge('cali_worker_pool_utilization', 'Share of worker-thread time busy since start (piscina), 0..1', [], (g) => g.set(this.pulled.pool?.().utilization ?? 0));
  readonly poolQueue = this.pulledGauge('cali_worker_pool_queue_size', 'Batches waiting for a worker thread: in the pool queue or behind the batch a thread is running', [], (g) => g.set(this.pulled.pool?.().queueSize ?? 0));
  readonly poolThreads = this.pulledGauge('cali_worker_pool_threads', 'Worker threads in the pool', [], (g) => g.set(this.pulled.pool?.().threads ?? 0));

  // Leasing
  readonly leasesHeld = this.pulledGauge('cali_leases_held', 'Leases this worker holds', [], (g) => g.set(this.pulled.leasesHeld?.() ?? 0));
  readonly leaseTableLeases = this.pulledGauge('cali_lease_table_leases', 'Leases in the table at the last scan, by whether a live worker owns them', ['state'], (g) => {
    const table = this.pulled.leaseTable?.() ?? { owned: 0, available: 0 };
    g.set({ state: 'owned' }, table.owned);
    g.set({ state: 'available' }, table.available);
  });
  readonly leaseTakes = this.counter('cali_lease_takes_total', 'Leases taken, by how: unowned, expired (failover) or handoff', ['how']);
  readonly leaseSteals = this.counter('cali_lease_steals_total', 'Leases taken from a live worker for balancing (a handoff we asked for)');
  readonly leaseHandoffRequests = this.counter('cali_lease_handoff_requests_total', 'Handoffs asked of busier workers');
  readonly leaseHandovers = this.counter('cali_lease_handovers_total', 'Leases handed to a worker that asked, after checkpointing');
  readonly leaseLosses = this.counter('cali_lease_losses_total', 'Held leases lost, by reason', ['reason']);
  readonly leaseReleases = this.counter('cali_lease_releases_total', 'Leases released on shutdown');
  readonly leaseRenewalFailures = this.counter('cali_lease_renewal_failures_total', 'Failed renewal attempts (retried until the hold deadline)');
  readonly checkpoints = this.counter('cali_checkpoints_total', 'Checkpoints written');
  readonly shardsEnded = this.counter('cali_shards_ended_total', 'Shards read to their end (resharding)');
  readonly shardSyncs = this.counter('cali_shard_syncs_total', 'Shard syncs with the stream, by outcome', ['outcome']);
  readonly parentsCheckFailures = this.counter('cali_lease_parents_check_failures_total', 'Failed reads of a child shard\'s parent leases (the child waits and looks again)');
  readonly takeCycleFailures = this.counter('cali_take_cycle_failures_total', 'Lease scan/take cycles that failed (table unreachable)');
  readonly processorFailures = this.counter('cali_processor_failures_total', 'Record-processor callbacks that threw (the shard restarts from its checkpoint)');

  // Alerting
  readonly alertsSent = this.counter('cali_alerts_sent_total', 'Alert messages delivered', ['destination', 'kind', 'severity']);
  readonly alertsSuppressed = this.counter('cali_alerts_suppressed_total', 'Occurrences counted into an open window or muted instead of alerting', ['reason']);
  readonly alertFailures = this.counter('cali_alert_delivery_failures_total', 'Failed delivery attempts', ['destination', 'kind', 'retriable']);
  readonly alertsDropped = this.counter('cali_alerts_dropped_total', 'Alert messages given up', ['destination', 'kind', 'reason']);
  readonly alertLatency = this.histogram('cali_alert_delivery_seconds', 'Time to deliver an alert message', ['destination'], [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly alertWindowsOpened = this.counter('cali_alert_windows_opened_total', 'Throttle windows opened (claimed: this replica alerts for it)', ['claimed']);
  readonly alertWindowsClosed = this.counter('cali_alert_windows_closed_total', 'Throttle windows closed');
  readonly alertWindowsOpen = this.pulledGauge('cali_alert_windows_open', 'Throttle windows open now', [], (g) => g.set(this.pulled.alerting?.()?.openWindows ?? 0));
  readonly alertQueueDepth = this.pulledGauge('cali_alert_queue_depth', 'Alert messages waiting for delivery', [], (g) => g.set(this.pulled.alerting?.()?.queueDepth ?? 0));

  // Search index (OpenSearch)
  readonly searchDocuments = this.counter('cali_opensearch_documents_total', 'Bulk items by the outcome of their request: indexed, retried (429/5xx item, sent again) or rejected (to the DLQ)', ['outcome']);
  readonly searchBulkRequests = this.counter('cali_opensearch_bulk_requests_total', 'Bulk requests, by outcome', ['outcome']);
  readonly searchBulkBytes = this.counter('cali_opensearch_bulk_bytes_total', 'Bytes of bulk request bodies sent');
  readonly searchBulkDuration = this.histogram('cali_opensearch_bulk_duration_seconds', 'Duration of one bulk request', [], [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly searchItemRetries = this.counter('cali_opensearch_item_retries_total', 'Bulk items retried after a 429 or 5xx item status');

  // RAG analysis: the names are fixed here; the RAG layer's events feed them (wired in the composition root).
  readonly ragRequests = this.counter('cali_rag_requests_total', 'Incident analyses asked for, by analyzer (retrieval or llm)', ['analyzer']);
  readonly ragErrors = this.counter('cali_rag_errors_total', 'Analyses that failed or gave up (provider error, timeout, circuit open)');
  readonly ragDuration = this.histogram('cali_rag_request_duration_seconds', 'Time to an analysis (or to giving up)', [], [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
  readonly ragCacheHits = this.counter('cali_rag_cache_hits_total', 'Analyses answered from the cache (embeddings or completions)');
  readonly ragTokens = this.counter('cali_rag_tokens_total', 'LLM tokens used, by type (prompt or completion)', ['type']);
  readonly ragSpend = this.counter('cali_rag_spend_usd_total', 'Estimated LLM spend in US dollars');

  readonly info = this.gauge('cali_worker_info', 'Always 1; the label names the worker (CALI_WORKER_ID), to join with instance', ['worker_id']);

  constructor() {
    // The Node process metrics keep their standard names (process_*, nodejs_*) so stock dashboards work.
    collectDefaultMetrics({ register: this.registry });
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private pulledGauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: (gauge: Gauge<L>) => void): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry], collect() { read(this); } });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
