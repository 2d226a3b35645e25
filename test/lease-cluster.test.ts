/**
 * The lease layer with real worker processes (`cali run`) on the embedded
 * stack while the simulator produces: joins balance within +-1 with each
 * lease moving once, SIGTERM hands shards over in about a scan interval with
 * nothing processed twice, kill -9 fails over within failover + a scan, and
 * in the end every record was processed (duplicates only where a worker died).
 * Measured times are printed for the closing note and docs/leasing.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../src/aws.js';
import { DynamoDbLeaseStore } from '../src/lease/dynamodb-lease-store.js';
import { isShardEnd } from '../src/lease/lease.js';
import { startLocalStack, type LocalStack } from '../src/local/stack.js';
import { LogSimulator } from '../src/simulator/generator.js';
import { KinesisProducer } from '../src/simulator/producer.js';
import { runSimulation } from '../src/simulator/run.js';
import { reconcile, readWholeStream, waitFor, WorkerProcess, type LogLine } from './support/cluster.js';

const SHARDS = 6;
const FAILOVER_MS = 4_000;
let stack: LocalStack;
let store: DynamoDbLeaseStore;
const workers: WorkerProcess[] = [];
const producing = new AbortController();
let produced: Promise<unknown>;

function workerEnv(): Record<string, string> {
  return { ...stack.env, CALI_STREAM_NAME: 'cluster', CALI_APP_NAME: 'cluster-leases', CALI_FAILOVER_MS: String(FAILOVER_MS), CALI_LOG_LEVEL: 'debug' };
}

async function owners(): Promise<Map<string, string | undefined>> {
  const { leases } = await store.listLeases();
  return new Map(leases.filter((l) => !isShardEnd(l)).map((l) => [l.leaseKey, l.leaseOwner]));
}

async function counts(ids: string[]): Promise<number[]> {
  const table = await owners();
  return ids.map((id) => [...table.values()].filter((owner) => owner === id).length);
}

/** Balanced when every listed worker holds floor or ceil of S/K and no lease is unowned. */
async function balanced(ids: string[]): Promise<number[] | false> {
  const c = await counts(ids);
  const total = c.reduce((a, b) => a + b, 0);
  return total === SHARDS && Math.max(...c) - Math.min(...c) <= 1 ? c : false;
}

const start = (id: string): WorkerProcess => {
  const worker = new WorkerProcess(id, workerEnv());
  workers.push(worker);
  return worker;
};

beforeAll(async () => {
  stack = await startLocalStack({ shards: SHARDS, streamName: 'cluster', appName: 'cluster-leases' });
  store = DynamoDbLeaseStore.create({ region: stack.region, endpoint: stack.endpoints.dynamodb, credentials: stack.credentials, tableName: 'cluster-leases' });
  const kinesis = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
  const producer = new KinesisProducer(kinesis, { streamName: 'cluster' });
  const simulator = new LogSimulator({ seed: 3, errorRatio: 0.1, invalidRatio: 0 });
  produced = runSimulation(simulator, async (events) => {
    await producer.put(events.map((e, i) => ({ data: e.data, partitionKey: `${Date.now()}-${i}` })));
  }, { rate: 60, signal: producing.signal }).finally(() => kinesis.destroy());
});

afterAll(async () => {
  producing.abort();
  await produced;
  await Promise.all(workers.map((w) => w.stop('SIGKILL')));
  store?.close();
  await stack?.stop();
});

describe('lease cluster of worker processes', () => {
  it('balances, hands over on SIGTERM, fails over on kill -9, loses nothing', async () => {
    const w1 = start('w1');
    const w2 = start('w2');
    expect(await waitFor('w1+w2 balanced', () => balanced(['w1', 'w2']), 30_000)).toEqual([3, 3]);

    // Join: w3 takes two leases, each moving exactly once.
    const beforeJoin = await owners();
    const joinedAt = Date.now();
    const w3 = start('w3');
    await waitFor('w1+w2+w3 balanced', () => balanced(['w1', 'w2', 'w3']), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const afterJoin = await owners();
    const moved = [...afterJoin].filter(([key, owner]) => beforeJoin.get(key) !== owner);
    expect(moved.length).toBe(2);
    expect(moved.every(([, owner]) => owner === 'w3')).toBe(true);
    const handovers = [...w1.events('lease.handed_over'), ...w2.events('lease.handed_over')].filter((e) => e.time >= joinedAt);
    expect(handovers.map((e) => e.leaseKey).sort()).toEqual(moved.map(([key]) => key).sort());

    // SIGTERM: w1 checkpoints and releases; the others resume each shard soon after.
    const w1Leases = [...afterJoin].filter(([, owner]) => owner === 'w1').map(([key]) => key);
    expect(await w1.stop('SIGTERM')).toBe(0);
    const released = new Map(w1.events('lease.released').map((e) => [e.leaseKey!, e.time]));
    expect([...released.keys()].sort()).toEqual([...w1Leases].sort());
    const gaps = await waitFor('released shards resumed', () => {
      const taken = [...w2.events('lease.taken'), ...w3.events('lease.taken')];
      const result = w1Leases.map((key) => {
        const at = taken.find((e) => e.leaseKey === key && e.time >= released.get(key)!);
        return at ? at.time - released.get(key)! : undefined;
      });
      return result.every((gap) => gap !== undefined) ? (result as number[]) : undefined;
    }, 20_000);
    console.log(`SIGTERM handoff gaps (release -> taken by another worker), ms: ${gaps.join(', ')}`);
    expect(await waitFor('w2+w3 balanced', () => balanced(['w2', 'w3']), 20_000)).toEqual([3, 3]);

    // kill -9: w2's shards are taken and processed by w3 after failover.
    const w2Leases = [...(await owners())].filter(([, owner]) => owner === 'w2').map(([key]) => key);
    const killedAt = Date.now();
    await w2.stop('SIGKILL');
    const failovers = await waitFor('killed shards processed again', () => {
      const resumed = w3.events('batch.processed');
      const result = w2Leases.map((key) => resumed.find((e) => e.leaseKey === key && e.time >= killedAt)?.time);
      return result.every((t) => t !== undefined) ? (result as number[]).map((t) => t - killedAt) : undefined;
    }, FAILOVER_MS + 20_000);
    console.log(`kill -9 failover (kill -> first batch processed by another worker), ms: ${failovers.join(', ')}; failover setting ${FAILOVER_MS} ms`);
    for (const ms of failovers) expect(ms).toBeGreaterThanOrEqual(FAILOVER_MS - 1_000);
    expect(await counts(['w3'])).toEqual([SHARDS]);
    expect(w3.events('lease.taken').filter((e) => e.how === 'expired').map((e) => e.leaseKey).sort()).toEqual([...w2Leases].sort());

    // Drain and reconcile: nothing lost; duplicates only on the killed worker's shards.
    producing.abort();
    await produced;
    const kinesis = createKinesisClient({ region: stack.region, endpoint: stack.endpoints.kinesis, credentials: stack.credentials });
    const stream = await readWholeStream(kinesis, 'cluster');
    kinesis.destroy();
    const lastSequence = new Map([...stream].map(([shard, seqs]) => [shard, seqs.at(-1)]));
    await waitFor('w3 caught up', () => [...lastSequence].every(([shard, last]) =>
      last === undefined || w3.events('batch.processed').some((e) => e.leaseKey === shard && e.lastSequenceNumber === last)), 30_000);
    expect(await w3.stop('SIGTERM')).toBe(0);
    const batches: LogLine[] = workers.flatMap((w) => w.events('batch.processed'));
    const result = reconcile(stream, batches);
    console.log(`reconciliation: ${JSON.stringify(result)}`);
    expect(result.records).toBeGreaterThan(500);
    expect(result.lost).toBe(0);
    for (const shard of Object.keys(result.duplicatesByShard)) expect(w2Leases).toContain(shard);
    for (const w of workers) expect(w.events('lease.lost').filter((e) => e.workerId !== 'w2')).toEqual([]);
  }, 180_000);
});
