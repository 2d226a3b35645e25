/**
 * Resharding on the Kinesis emulator with two in-process coordinators on the
 * DynamoDB lease store: a split and then a merge while records flow. Children
 * start only after every parent checkpointed SHARD_END, no record is lost, and
 * finished parents' leases are cleaned up once their children started.
 */
import { DescribeStreamSummaryCommand, ListShardsCommand, MergeShardsCommand, SplitShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../src/aws.js';
import { compileLeaseConfig } from '../src/lease/config.js';
import { LeaseCoordinator } from '../src/lease/coordinator.js';
import { DynamoDbLeaseStore } from '../src/lease/dynamodb-lease-store.js';
import { LeaseEventBus } from '../src/lease/events.js';
import { ShardSyncer } from '../src/lease/shard-sync.js';
import { startLocalStack, type LocalStack } from '../src/local/stack.js';
import { CheckpointingCounter } from '../src/pipeline/checkpointing-counter.js';
import { KinesisShardReader } from '../src/pipeline/kinesis-shard-reader.js';
import { LogSimulator } from '../src/simulator/generator.js';
import { KinesisProducer } from '../src/simulator/producer.js';
import { runSimulation } from '../src/simulator/run.js';
import { reconcile, readWholeStream, waitFor, type LogLine } from './support/cluster.js';

const STREAM = 'reshard';
const TABLE = 'reshard-leases';
let stack: LocalStack;
let kinesis: KinesisClient;
const stores: DynamoDbLeaseStore[] = [];
const coordinators: LeaseCoordinator[] = [];
const batches: LogLine[] = [];
const shardEnds = new Map<string, number>();
const producing = new AbortController();
let produced: Promise<unknown>;

function startWorker(workerId: string): LeaseCoordinator {
  const store = DynamoDbLeaseStore.create({ region: stack.region, endpoint: stack.endpoints.dynamodb, credentials: stack.credentials, tableName: TABLE });
  stores.push(store);
  const events = new LeaseEventBus();
  events.on('shard.ended', ({ leaseKey }) => shardEnds.set(leaseKey, Date.now()));
  const config = compileLeaseConfig({ workerId, failoverMs: 3_000, takeIntervalMs: 300, shardSyncIntervalMs: 1_000 });
  const coordinator = new LeaseCoordinator({
    store,
    config,
    events,
    syncer: new ShardSyncer(kinesis, STREAM, store, config.initialPosition, events),
    processorFactory: () => new CheckpointingCounter({
      onBatch: (leaseKey, records, firstSequenceNumber, lastSequenceNumber) =>
        batches.push({ msg: 'batch.processed', time: Date.now(), workerId, leaseKey, records, firstSequenceNumber, lastSequenceNumber }),
    }),
    readerFactory: ({ shardId, from }) => new KinesisShardReader(kinesis, { streamName: STREAM, idleMs: 200 }, shardId, from),
  });
  coordinators.push(coordinator);
  return coordinator;
}

async function waitActive(): Promise<void> {
  await waitFor('stream ACTIVE', async () => {
    const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
    return StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  }, 10_000);
}

const firstBatchAt = (shardId: string): number | undefined => batches.find((b) => b.leaseKey === shardId)?.time;

beforeAll(async () => {
  stack = await startLocalStack({ shards: 2, streamName: STREAM, appName: TABLE });
  kinesis = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
  const producer = new KinesisProducer(kinesis, { streamName: STREAM });
  let key = 0;
  produced = runSimulation(new LogSimulator({ seed: 8, errorRatio: 0.1, invalidRatio: 0 }), async (events) => {
    // Partition keys spread over the whole hash range, so every shard gets records.
    await producer.put(events.map((e) => ({ data: e.data, partitionKey: `k${key++}` })));
  }, { rate: 50, signal: producing.signal });
});

afterAll(async () => {
  producing.abort();
  await produced;
  await Promise.all(coordinators.map((c) => c.stop()));
  for (const store of stores) store.close();
  kinesis?.destroy();
  await stack?.stop();
});

describe('resharding', () => {
  it('splits and merges without losing records; children wait for their parents', async () => {
    await Promise.all([startWorker('r1').start(), startWorker('r2').start()]);
    await waitFor('both shards processed', () => firstBatchAt('shardId-000000000000') !== undefined && firstBatchAt('shardId-000000000001') !== undefined, 20_000);

    const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: STREAM }));
    const range = Shards.find((s) => s.ShardId === 'shardId-000000000000')!.HashKeyRange!;
    const middle = (BigInt(range.StartingHashKey!) + BigInt(range.EndingHashKey!)) / 2n;
    await kinesis.send(new SplitShardCommand({ StreamName: STREAM, ShardToSplit: 'shardId-000000000000', NewStartingHashKey: middle.toString() }));
    await waitActive();
    await waitFor('split children processed', () => firstBatchAt('shardId-000000000002') !== undefined && firstBatchAt('shardId-000000000003') !== undefined, 30_000);

    // shardId-000000000003 (upper half of the old shard 0) is adjacent to shardId-000000000001.
    await kinesis.send(new MergeShardsCommand({ StreamName: STREAM, ShardToMerge: 'shardId-000000000003', AdjacentShardToMerge: 'shardId-000000000001' }));
    await waitActive();
    await waitFor('merged child processed', () => firstBatchAt('shardId-000000000004') !== undefined, 30_000);

    for (const [child, parents] of [
      ['shardId-000000000002', ['shardId-000000000000']],
      ['shardId-000000000003', ['shardId-000000000000']],
      ['shardId-000000000004', ['shardId-000000000001', 'shardId-000000000003']],
    ] as const) {
      for (const parent of parents) {
        expect(shardEnds.get(parent), `${parent} ended`).toBeDefined();
        expect(firstBatchAt(child)!).toBeGreaterThanOrEqual(shardEnds.get(parent)!);
      }
    }

    producing.abort();
    await produced;
    const stream = await readWholeStream(kinesis, STREAM);
    await waitFor('every open shard drained', () => [...stream].every(([shard, seqs]) =>
      seqs.length === 0 || batches.some((b) => b.leaseKey === shard && b.lastSequenceNumber === seqs.at(-1))), 30_000);
    const result = reconcile(stream, batches);
    console.log(`resharding reconciliation: ${JSON.stringify(result)}`);
    expect(result.lost).toBe(0);
    expect(result.duplicates).toBe(0);

    // Finished parents disappear once their children have started.
    const store = stores[0]!;
    const remaining = await waitFor('parent leases cleaned up', async () => {
      const { leases } = await store.listLeases();
      const keys = leases.map((l) => l.leaseKey).sort();
      return keys.includes('shardId-000000000000') || keys.includes('shardId-000000000003') ? undefined : keys;
    }, 15_000);
    expect(remaining).toContain('shardId-000000000004');
    expect(remaining).toContain('shardId-000000000002');
  }, 120_000);
});
