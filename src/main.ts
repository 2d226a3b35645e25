/**
 * The composition root: the one place that wires the lease layer, the
 * pipeline and the AWS clients together (src/lease never imports the
 * pipeline; the pipeline implements the lease layer's contract).
 */
import type { Logger } from 'pino';
import { createKinesisClient } from './aws.js';
import type { RunConfig } from './config/run-config.js';
import { LeaseCoordinator } from './lease/coordinator.js';
import { DynamoDbLeaseStore } from './lease/dynamodb-lease-store.js';
import { LeaseEventBus, type LeaseEvents } from './lease/events.js';
import { ShardSyncer } from './lease/shard-sync.js';
import { CheckpointingCounter } from './pipeline/checkpointing-counter.js';
import { KinesisShardReader } from './pipeline/kinesis-shard-reader.js';

export interface RunningConsumer {
  readonly coordinator: LeaseCoordinator;
  /** Graceful: finish batches, checkpoint, release leases, close clients. */
  stop(): Promise<void>;
}

/** Every lease event becomes one structured log line: the event name is the message. */
function logLeaseEvents(events: LeaseEventBus, logger: Logger): void {
  const names: (keyof LeaseEvents)[] = [
    'lease.taken', 'lease.handoff_requested', 'lease.handed_over', 'lease.lost', 'lease.released', 'lease.renewal_failed',
    'lease.created', 'lease.deleted', 'lease.item_skipped', 'shard.ended', 'shard_sync.completed', 'shard_sync.failed',
    'take_cycle.failed', 'processor.failed',
  ];
  const warnings = new Set<keyof LeaseEvents>(['lease.lost', 'lease.renewal_failed', 'lease.item_skipped', 'shard_sync.failed', 'take_cycle.failed', 'processor.failed']);
  for (const name of names) {
    events.on(name, (payload: object) => {
      if (warnings.has(name)) logger.warn(payload, name);
      else logger.info(payload, name);
    });
  }
}

export async function startConsumer(config: RunConfig, logger: Logger): Promise<RunningConsumer> {
  const { region, kinesisEndpoint, streamName } = config.stream;
  const kinesis = createKinesisClient({ region, ...(kinesisEndpoint ? { endpoint: kinesisEndpoint } : {}) });
  const store = DynamoDbLeaseStore.create({
    region,
    tableName: config.appName,
    // A hung request must fail early enough to be retried within the hold deadline.
    operationTimeoutMs: Math.max(1_000, config.lease.renewIntervalMs),
    ...(config.dynamoDbEndpoint ? { endpoint: config.dynamoDbEndpoint } : {}),
  });
  const events = new LeaseEventBus();
  logLeaseEvents(events, logger);
  const coordinator = new LeaseCoordinator({
    store,
    config: config.lease,
    events,
    syncer: new ShardSyncer(kinesis, streamName, store, config.lease.initialPosition, events),
    processorFactory: () => new CheckpointingCounter({
      onFirstRecords: (shardId, firstSequenceNumber) => logger.info({ leaseKey: shardId, firstSequenceNumber }, 'shard.processing_started'),
      onBatch: (shardId, records, firstSequenceNumber, lastSequenceNumber) => {
        if (logger.isLevelEnabled('debug')) logger.debug({ leaseKey: shardId, records, firstSequenceNumber, lastSequenceNumber }, 'batch.processed');
      },
    }),
    readerFactory: ({ shardId, from, atTimestampMs }) => new KinesisShardReader(kinesis, { streamName }, shardId, from, atTimestampMs),
  });
  try {
    await coordinator.start();
  } catch (error) {
    store.close();
    kinesis.destroy();
    throw error;
  }
  logger.info({ stream: streamName, leaseTable: config.appName }, 'consumer.started');
  return {
    coordinator,
    async stop() {
      await coordinator.stop();
      store.close();
      kinesis.destroy();
      logger.info('consumer.stopped');
    },
  };
}
