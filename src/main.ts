/**
 * The composition root: the one place that wires the lease layer, the
 * pipeline and the AWS clients together (src/lease never imports the
 * pipeline; the pipeline implements the lease layer's contract).
 */
import type { Logger } from 'pino';
import { createDynamoDbClient, createKinesisClient, createS3Client } from './aws.js';
import type { DlqReplayConfig } from './config/dlq-replay-config.js';
import type { RunConfig } from './config/run-config.js';
import { LeaseCoordinator } from './lease/coordinator.js';
import { DynamoDbLeaseStore } from './lease/dynamodb-lease-store.js';
import { LeaseEventBus, type LeaseEvents } from './lease/events.js';
import type { LeaseStore } from './lease/lease-store.js';
import { ShardSyncer } from './lease/shard-sync.js';
import { createAlerting, loadAlertingSettings, startAlerting } from './pipeline/alerting/create.js';
import type { AlertingEngine } from './pipeline/alerting/engine.js';
import { AlertEventBus } from './pipeline/alerting/events.js';
import type { IncidentAnalyzer } from './pipeline/rag/analysis.js';
import { createIncidentAnalyzer } from './pipeline/rag/create.js';
import { RagEventBus } from './pipeline/rag/events.js';
import { replayDeadLetters, type DlqReplayOptions, type ReplaySummary } from './pipeline/dlq-replay.js';
import { PipelineEventBus } from './pipeline/events.js';
import { KinesisShardReader } from './pipeline/kinesis-shard-reader.js';
import { RecordPipeline, type IncidentSink } from './pipeline/record-pipeline.js';
import { ArchiveSink } from './pipeline/sinks/archive/sink.js';
import { DlqSink } from './pipeline/sinks/dlq/sink.js';
import { createObjectStore } from './pipeline/sinks/object-store/destination.js';
import { classifyRequestError } from './pipeline/sinks/opensearch/retry-policy.js';
import { IncidentIndexWriter } from './pipeline/sinks/opensearch/incidents.js';
import { createOpenSearchClient, OpenSearchSink } from './pipeline/sinks/opensearch/sink.js';
import { WorkerPool } from './pipeline/worker-pool.js';
import { startTelemetryServer, type TelemetryServer } from './telemetry/server.js';
import { Telemetry } from './telemetry/telemetry.js';
import type { WorkerSettings } from './workers/protocol.js';

/** What the workers do to every record: shared by `cali run` and `cali dlq replay`, so a replay judges as the consumer does. */
export const WORKER_SETTINGS: WorkerSettings = Object.freeze({ fingerprintMinLevel: 'warn', maxDecodedBytes: 1024 * 1024 });

/** The worker id in the keys of the archive and DLQ objects a replay writes: an operator tells them from the consumers'. */
export const REPLAY_WORKER_ID = 'dlq_replay';

export interface RunningConsumer {
  readonly coordinator: LeaseCoordinator;
  readonly pipeline: RecordPipeline;
  readonly pool: WorkerPool;
  /** Metrics and /status: alerting and RAG hand their buses to it (`telemetry.watchAlerting(bus, status)`). */
  readonly telemetry: Telemetry;
  readonly metricsServer: TelemetryServer;
  /** Undefined when ConsumerOptions.incidents replaced it. */
  readonly alerting: AlertingEngine | undefined;
  /** Graceful: finish batches, checkpoint, release leases, flush sinks, close clients. */
  stop(): Promise<void>;
}

export interface ConsumerOptions {
  /** Replaces the alerting engine (tests). */
  readonly incidents?: IncidentSink;
  /** Chaos runs wrap the lease table in a fault injector (src/lease/faulty-lease-store.ts). */
  readonly wrapLeaseStore?: (store: LeaseStore) => LeaseStore;
  /** RAG analysis of new incidents, awaited up to the rules file's analysis budget. */
  readonly analyzer?: IncidentAnalyzer;
  /** Alerting's events, for metrics; one is made when unset. */
  readonly alertEvents?: AlertEventBus;
}

/** Alert outcomes become log lines; suppressions are per batch and fingerprint, so only at debug. */
function logAlertEvents(events: AlertEventBus, logger: Logger): void {
  events.on('alert.sent', (payload) => logger.info(payload, 'alert.sent'));
  events.on('alert.failed', (payload) => logger.warn(payload, 'alert.failed'));
  events.on('alert.dropped', (payload) => logger.warn(payload, 'alert.dropped'));
  events.on('window.opened', (payload) => logger.info(payload, 'window.opened'));
  events.on('window.closed', (payload) => logger.info(payload, 'window.closed'));
  events.on('alert.suppressed', (payload) => {
    if (logger.isLevelEnabled('debug')) logger.debug(payload, 'alert.suppressed');
  });
}

/** Analyses at info; provider trouble (errors, skipped calls, the circuit) at warn. */
function logRagEvents(events: RagEventBus, logger: Logger): void {
  events.on('rag.analysis', (payload) => logger.info(payload, 'rag.analysis'));
  events.on('rag.error', (payload) => logger.warn(payload, 'rag.error'));
  events.on('rag.skipped', (payload) => logger.warn(payload, 'rag.skipped'));
  events.on('rag.circuit', (payload) => logger.warn(payload, 'rag.circuit'));
}

/** Every lease and pipeline event becomes one structured log line: the event name is the message. */
function logEvents(lease: LeaseEventBus, pipeline: PipelineEventBus, logger: Logger): void {
  const names: (keyof LeaseEvents)[] = [
    'lease.taken', 'lease.handoff_requested', 'lease.handed_over', 'lease.lost', 'lease.released', 'lease.renewal_failed',
    'lease.created', 'lease.deleted', 'lease.item_skipped', 'shard.ended', 'shard_sync.completed', 'shard_sync.failed',
    'take_cycle.failed', 'processor.failed', 'parents_check.failed',
  ];
  const warnings = new Set<keyof LeaseEvents>(['lease.lost', 'lease.renewal_failed', 'lease.item_skipped', 'shard_sync.failed', 'take_cycle.failed', 'processor.failed', 'parents_check.failed']);
  for (const name of names) {
    lease.on(name, (payload: object) => {
      if (warnings.has(name)) logger.warn(payload, name);
      else logger.info(payload, name);
    });
  }
  pipeline.on('batch.completed', (payload) => {
    if (logger.isLevelEnabled('debug')) logger.debug({ leaseKey: payload.shardId, ...payload }, 'batch.processed');
  });
  pipeline.on('sink.retry', (payload) => logger.warn(payload, 'sink.retry'));
  pipeline.on('sink.skipped', (payload) => logger.warn(payload, 'sink.skipped'));
  pipeline.on('worker.crashed', (payload) => logger.warn(payload, 'worker.crashed'));
  pipeline.on('worker.pool_replaced', (payload) => logger.warn(payload, 'worker.pool_replaced'));
  pipeline.on('shard.cancelled', (payload) => logger.info(payload, 'shard.cancelled'));
}

export async function startConsumer(config: RunConfig, logger: Logger, options: ConsumerOptions = {}): Promise<RunningConsumer> {
  const { region, kinesisEndpoint, streamName } = config.stream;
  const workerId = config.lease.workerId;
  const kinesis = createKinesisClient({ region, ...(kinesisEndpoint ? { endpoint: kinesisEndpoint } : {}) });
  // One attempt per SDK call: the sinks' writer has its own retry policy, which would otherwise multiply.
  const s3 = createS3Client({ region, maxAttempts: 1, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}) });
  const store = DynamoDbLeaseStore.create({
    region,
    tableName: config.appName,
    // A hung request must fail early enough to be retried within the hold deadline.
    operationTimeoutMs: Math.max(1_000, config.lease.renewIntervalMs),
    ...(config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint } : {}),
  });
  const leaseEvents = new LeaseEventBus();
  const pipelineEvents = new PipelineEventBus();
  logEvents(leaseEvents, pipelineEvents, logger);
  const pool = new WorkerPool({
    threads: config.workerThreads,
    settings: WORKER_SETTINGS,
    onWorkerCrash: (error, records) => pipelineEvents.emit('worker.crashed', { records, error: error instanceof Error ? error.message : String(error) }),
    onPoolReplaced: () => pipelineEvents.emit('worker.pool_replaced', { threads: config.workerThreads }),
  });
  const archive = ArchiveSink.create(config.archive, { workerId, s3Client: s3 });
  const dlq = DlqSink.create(config.dlq, { workerId, s3Client: s3 });
  // One client for the logs and the incidents index.
  const searchClient = config.opensearch === undefined ? undefined : createOpenSearchClient(config.opensearch);
  const incidentLog = searchClient === undefined || config.opensearch === undefined ? undefined : new IncidentIndexWriter(searchClient, config.opensearch.incidentsIndex);
  const alertEvents = options.alertEvents ?? new AlertEventBus();
  const ragEvents = new RagEventBus();
  let alerting: AlertingEngine | undefined;
  let analyzer: IncidentAnalyzer | undefined;
  const dynamoDb = createDynamoDbClient({ region, ...(config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint } : {}) });
  if (options.incidents === undefined) {
    logAlertEvents(alertEvents, logger);
    logRagEvents(ragEvents, logger);
    try {
      const settings = await loadAlertingSettings(config.alerting);
      // The rules file's redaction runs before Slack and before the embedder and the LLM alike.
      analyzer = options.analyzer ?? await createIncidentAnalyzer(config.rag, { redactor: settings.redactor, events: ragEvents });
      alerting = createAlerting(config.alerting, settings, {
        dynamoDb, owner: workerId, events: alertEvents, analyzer, incidentLog,
        print: (text, message) => logger.info({ kind: message.kind, fingerprint: message.fingerprint, text }, 'alert.local'),
        onError: (error, context) => logger.warn({ context, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }, 'alerting.error'),
      });
    } catch (error) {
      await analyzer?.close();
      await searchClient?.close();
      await Promise.allSettled([archive.close(), dlq.close()]);
      await pool.destroy();
      dynamoDb.destroy();
      throw error;
    }
  }
  const incidents: IncidentSink = options.incidents ?? alerting!;
  const search = config.opensearch === undefined ? undefined : OpenSearchSink.create(config.opensearch, { dlq, client: searchClient });
  if (search !== undefined) {
    search.events.on('bulk.failed', (payload) => logger.warn(payload, 'opensearch.bulk_failed'));
    search.events.on('documents.rejected', (payload) => logger.warn(payload, 'opensearch.documents_rejected'));
  }
  const pipeline = new RecordPipeline(pool, {
    archive, dlq, incidents,
    search: search === undefined ? undefined : { sink: search, required: config.opensearch?.gatesCheckpoint ?? false },
  }, {}, pipelineEvents);
  const leaseStore = options.wrapLeaseStore?.(store) ?? store;
  const coordinator = new LeaseCoordinator({
    store: leaseStore,
    config: config.lease,
    events: leaseEvents,
    syncer: new ShardSyncer(kinesis, streamName, leaseStore, config.lease.initialPosition, leaseEvents),
    processorFactory: (shardId) => pipeline.processorFor(shardId),
    readerFactory: ({ shardId, from, atTimestampMs }) => new KinesisShardReader(kinesis, { streamName, ...config.reader }, shardId, from, atTimestampMs),
  });
  const searchStatus = search === undefined ? [] : [{ name: search.name, required: config.opensearch?.gatesCheckpoint ?? false, health: () => search.health() }];
  const telemetry = new Telemetry({ workerId, coordinator, pool, pipeline, sinks: [archive, dlq, ...searchStatus] })
    .watchLeases(leaseEvents)
    .watchPipeline(pipelineEvents);
  if (search !== undefined) telemetry.watchSearch(search.events);
  if (alerting !== undefined) telemetry.watchAlerting(alertEvents, alerting).watchRag(ragEvents);
  let metricsServer: TelemetryServer | undefined;
  const closeAll = async (): Promise<void> => {
    // After the pipeline stopped: what it published is decided and sent within the bound, the rest stays claimed in the table.
    await alerting?.stop(config.alerting.shutdownTimeoutMs);
    await analyzer?.close();
    dynamoDb.destroy();
    // The search sink dead-letters refused documents: it closes before the DLQ does (and after alerting, which shares its client).
    await search?.close().catch((error: unknown) => logger.warn({ error: error instanceof Error ? error.message : String(error) }, 'opensearch.close_failed'));
    await Promise.allSettled([archive.close(), dlq.close()]);
    await pool.destroy();
    store.close();
    kinesis.destroy();
    s3.destroy();
    await metricsServer?.close();
  };
  try {
    // Listening first: /healthz answers and /readyz says why not yet while the table is created and leases taken.
    metricsServer = await startTelemetryServer(telemetry, config.metrics);
    logger.info({ url: metricsServer.url, port: metricsServer.port }, 'metrics.listening');
    if (search !== undefined) {
      await search.setup().then(
        () => logger.info({ opensearch: config.opensearch?.location }, 'opensearch.ready'),
        // Retried before the first bulk request; the sink's health shows it meanwhile.
        (error: unknown) => logger.warn({ opensearch: config.opensearch?.location, error: classifyRequestError(error).reason }, 'opensearch.setup_failed'),
      );
    }
    if (alerting !== undefined) await startAlerting(alerting, dynamoDb, config.alerting);
    await coordinator.start();
  } catch (error) {
    await closeAll();
    throw error;
  }
  logger.info({ stream: streamName, leaseTable: config.appName, workerThreads: pool.threads }, 'consumer.started');
  const server = metricsServer;
  return {
    coordinator,
    pipeline,
    pool,
    telemetry,
    metricsServer: server,
    alerting,
    async stop() {
      await coordinator.stop();
      await closeAll();
      logger.info('consumer.stopped');
    },
  };
}

/**
 * `cali dlq replay`: the DLQ store, the worker pool (the consumer's own worker
 * module: a record that crashed a thread crashes a pool thread again, not the
 * replay) and, unless it is a dry run, the archive and DLQ sinks.
 */
export async function runDlqReplay(config: DlqReplayConfig, options: DlqReplayOptions): Promise<ReplaySummary> {
  const s3 =
    config.region === undefined
      ? undefined
      : createS3Client({ region: config.region, maxAttempts: 1, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}) });
  const store = createObjectStore(config.dlq.destination, { s3Client: s3 });
  const pool = new WorkerPool({ threads: config.workerThreads, settings: WORKER_SETTINGS });
  const sinks = options.dryRun
    ? undefined
    : {
        archive: ArchiveSink.create(config.archive, { workerId: REPLAY_WORKER_ID, s3Client: s3 }),
        dlq: DlqSink.create(config.dlq, { workerId: REPLAY_WORKER_ID, s3Client: s3 }),
      };
  try {
    return await replayDeadLetters({ store, runner: pool, sinks }, options);
  } finally {
    // Every batch was flushed before its marker; closing only releases the writers' timers.
    if (sinks !== undefined) await Promise.allSettled([sinks.archive.close(), sinks.dlq.close()]);
    await pool.destroy();
    s3?.destroy();
  }
}
