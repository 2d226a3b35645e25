/**
 * The lease stores: the conformance suite on MemoryLeaseStore, on
 * DynamoDbLeaseStore over dynalite (a fresh table per test), and through a
 * fault injector that injects nothing; then the fault injection itself, and
 * DynamoDbLeaseStore's error mapping against the SDK's real retry loop.
 */
import { createServer, type Socket } from 'node:net';
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../src/aws.js';
import {
  DynamoDbLeaseStore,
  isRetriableDynamoDbError,
  LEASE_STORE_MAX_ATTEMPTS,
} from '../src/lease/dynamodb-lease-store.js';
import { FaultInjectingLeaseStore, injectDynamoDbFaults } from '../src/lease/faulty-lease-store.js';
import { newLease, type Lease } from '../src/lease/lease.js';
import { LeaseStoreError, type LeaseStore } from '../src/lease/lease-store.js';
import { MemoryLeaseStore } from '../src/lease/memory-lease-store.js';
import { startDynamoDbEmulator, type DynamoDbEmulator } from '../src/local/dynamodb.js';
import { freeLoopbackPort, LOOPBACK } from '../src/local/net.js';
import { describeLeaseStoreConformance } from './lease-store.conformance.js';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

let emulator: DynamoDbEmulator;
let client: DynamoDBClient;
let tableCount = 0;

beforeAll(async () => {
  emulator = await startDynamoDbEmulator();
  client = createDynamoDbClient({ region: REGION, endpoint: emulator.endpoint, credentials: CREDENTIALS });
});

afterAll(async () => {
  client?.destroy();
  await emulator?.stop();
});

function uniqueTableName(): string {
  tableCount += 1;
  return `leases-${tableCount}`;
}

/** A client of its own, so that faults and retry settings stay in one test. */
function dedicatedClient(options: { maxAttempts?: number; endpoint?: string } = {}): DynamoDBClient {
  return createDynamoDbClient({
    region: REGION,
    endpoint: options.endpoint ?? emulator.endpoint,
    credentials: CREDENTIALS,
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  });
}

async function rejection(promise: Promise<unknown>): Promise<LeaseStoreError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LeaseStoreError);
  return error as LeaseStoreError;
}

interface SdkErrorFields {
  name: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

function causeOf(error: LeaseStoreError): SdkErrorFields {
  return error.cause as SdkErrorFields;
}

describeLeaseStoreConformance('MemoryLeaseStore', async (options) => {
  const store = new MemoryLeaseStore(options);
  return {
    store,
    putRawItem: (item) => store.putRawItem(item),
    getRawItem: (leaseKey) => store.getRawItem(leaseKey),
  };
});

describeLeaseStoreConformance('DynamoDbLeaseStore on dynalite', async (options) => {
  const tableName = uniqueTableName();
  return {
    store: new DynamoDbLeaseStore(client, tableName, options),
    putRawItem: async (item) => {
      await client.send(new PutItemCommand({ TableName: tableName, Item: item }));
    },
    getRawItem: async (leaseKey) => {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { leaseKey: { S: leaseKey } }, ConsistentRead: true }),
      );
      return Item;
    },
  };
});

describeLeaseStoreConformance('FaultInjectingLeaseStore without faults, over MemoryLeaseStore', async (options) => {
  const inner = new MemoryLeaseStore(options);
  return {
    store: new FaultInjectingLeaseStore(inner, { seed: 1 }),
    putRawItem: (item) => inner.putRawItem(item),
    getRawItem: (leaseKey) => inner.getRawItem(leaseKey),
  };
});

describe('MemoryLeaseStore', () => {
  it('hands out copies: changing a returned lease does not change the stored one', async () => {
    const store = new MemoryLeaseStore();
    await store.createLeaseIfNotExists(newLease({ shardId: 'shard-2', parentShardIds: ['shard-1'] }, 'LATEST'));
    const lease = await store.getLease('shard-2');
    (lease?.parentShardIds as string[]).push('shard-0');
    const listed = (await store.listLeases()).leases[0];
    (listed?.parentShardIds as string[]).push('shard-0');
    expect((await store.getLease('shard-2'))?.parentShardIds).toEqual(['shard-1']);
  });

  it('answers asynchronously, so concurrent callers interleave', async () => {
    const store = new MemoryLeaseStore();
    const order: string[] = [];
    const created = store.createLeaseIfNotExists(newLease({ shardId: 'shard-1' }, 'LATEST')).then(() => order.push('create'));
    order.push('caller');
    await created;
    expect(order).toEqual(['caller', 'create']);
  });

  it('putRawItem needs the key DynamoDB requires', async () => {
    await expect(new MemoryLeaseStore().putRawItem({ checkpoint: { S: 'LATEST' } })).rejects.toThrow(TypeError);
  });
});

describe('FaultInjectingLeaseStore', () => {
  /** A store with one lease held by worker-a, behind a fault injector. */
  async function faultyStoreWithLease(
    options: ConstructorParameters<typeof FaultInjectingLeaseStore>[1],
  ): Promise<{ inner: MemoryLeaseStore; faulty: FaultInjectingLeaseStore; held: Lease }> {
    const inner = new MemoryLeaseStore();
    await inner.createLeaseIfNotExists(newLease({ shardId: 'shard-1' }, 'TRIM_HORIZON'));
    const created = await inner.getLease('shard-1');
    const held = await inner.takeLease(created as Lease, 'worker-a');
    return { inner, faulty: new FaultInjectingLeaseStore(inner, options), held: held as Lease };
  }

  /** The outcome of each of a fixed sequence of calls: 'ok' or the injected error's cause. */
  async function outcomes(seed: number): Promise<{ outcomes: string[]; injected: object }> {
    const { faulty, held } = await faultyStoreWithLease({
      seed,
      faults: { throttleRate: 0.2, serverErrorRate: 0.1, ambiguousRate: 0.1 },
    });
    const results: string[] = [];
    for (let i = 0; i < 300; i++) {
      const call: Promise<unknown> = i % 2 === 0 ? faulty.getLease('shard-1') : faulty.requestHandoff(held, 'worker-b');
      results.push(
        await call.then(
          () => 'ok',
          (error: unknown) => causeOf(error as LeaseStoreError).name,
        ),
      );
    }
    return { outcomes: results, injected: faulty.injected };
  }

  it('injects the same faults for the same seed, other faults for another, at the configured rates', async () => {
    const first = await outcomes(7);
    expect(await outcomes(7)).toEqual(first);
    const other = await outcomes(8);
    expect(other.outcomes).not.toEqual(first.outcomes);

    const count = (name: string): number => first.outcomes.filter((outcome) => outcome === name).length;
    expect(first.injected).toEqual({
      calls: 300,
      throttles: count('ProvisionedThroughputExceededException'),
      serverErrors: count('InternalServerError'),
      ambiguous: count('TimeoutError'),
      delays: 0,
      outages: 0,
    });
    // 300 calls: 60 throttles, 30 server errors and 21 ambiguous calls expected.
    expect(count('ProvisionedThroughputExceededException')).toBeGreaterThan(35);
    expect(count('ProvisionedThroughputExceededException')).toBeLessThan(85);
    expect(count('InternalServerError')).toBeGreaterThan(12);
    expect(count('InternalServerError')).toBeLessThan(50);
    expect(count('TimeoutError')).toBeGreaterThan(6);
    expect(count('TimeoutError')).toBeLessThan(40);
  });

  it('fails calls before they reach the store, with retriable errors shaped like DynamoDB\'s', async () => {
    const { inner, faulty, held } = await faultyStoreWithLease({
      seed: 1,
      operations: { takeLease: { throttleRate: 1 }, releaseLease: { serverErrorRate: 1 } },
    });
    const throttled = await rejection(faulty.takeLease(held, 'worker-b'));
    expect(throttled.retriable).toBe(true);
    expect(causeOf(throttled)).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    const serverError = await rejection(faulty.releaseLease(held));
    expect(serverError.retriable).toBe(true);
    expect(causeOf(serverError)).toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
    expect(await inner.getLease('shard-1')).toEqual(held);
  });

  it('an ambiguous write happened although its caller saw an error: retrying from the old view fails', async () => {
    const { inner, faulty, held } = await faultyStoreWithLease({
      seed: 1,
      operations: { renewLease: { ambiguousRate: 1 }, updateCheckpoint: { ambiguousRate: 1 } },
    });
    const timedOut = await rejection(faulty.renewLease(held));
    expect(timedOut.retriable).toBe(true);
    expect(causeOf(timedOut).name).toBe('TimeoutError');
    // The renewal landed: the counter moved, so the same renewal again looks like a lost lease.
    expect((await inner.getLease('shard-1'))?.leaseCounter).toBe(held.leaseCounter + 1);
    faulty.configure({ operations: { updateCheckpoint: { ambiguousRate: 1 } } });
    expect(await faulty.renewLease(held)).toBeUndefined();
    // Re-reading shows the worker still owns it; the checkpoint also lands unseen.
    const current = (await faulty.getLease('shard-1')) as Lease;
    expect(current.leaseOwner).toBe('worker-a');
    await rejection(faulty.updateCheckpoint(current, { checkpoint: { sequenceNumber: '42', subSequenceNumber: 0 } }));
    expect((await inner.getLease('shard-1'))?.checkpoint.sequenceNumber).toBe('42');
    expect(faulty.injected.ambiguous).toBe(2);
  });

  it('an outage fails every call without reaching the store, until it ends', async () => {
    const { inner, faulty, held } = await faultyStoreWithLease({ seed: 1 });
    faulty.setOutage(true);
    const calls: Promise<unknown>[] = [
      faulty.ensureTable(),
      faulty.listLeases(),
      faulty.getLease('shard-1'),
      faulty.createLeaseIfNotExists(newLease({ shardId: 'shard-2' }, 'LATEST')),
      faulty.renewLease(held),
      faulty.takeLease(held, 'worker-b'),
      faulty.requestHandoff(held, 'worker-b'),
      faulty.releaseLease(held),
      faulty.updateCheckpoint(held, { checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 } }),
      faulty.deleteLease(held),
    ];
    for (const call of calls) {
      const error = await rejection(call);
      expect(error.retriable).toBe(true);
      expect(causeOf(error)).toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    }
    expect(faulty.injected.outages).toBe(calls.length);
    expect(await inner.listLeases()).toEqual({ leases: [held], skipped: [] });
    faulty.setOutage(false);
    expect(await faulty.renewLease(held)).toMatchObject({ leaseCounter: held.leaseCounter + 1 });
  });

  it('adds latency before the call', async () => {
    const { faulty } = await faultyStoreWithLease({ seed: 3, faults: { latencyRate: 1, latencyMs: [40, 60] } });
    const started = performance.now();
    await faulty.getLease('shard-1');
    expect(performance.now() - started).toBeGreaterThanOrEqual(39);
    expect(faulty.injected.delays).toBe(1);
  });

  it('takes per-operation faults, and new settings at run time', async () => {
    const { faulty, held } = await faultyStoreWithLease({ seed: 1, operations: { renewLease: { throttleRate: 1 } } });
    await rejection(faulty.renewLease(held));
    expect(await faulty.getLease('shard-1')).toEqual(held);
    faulty.configure({});
    expect(await faulty.renewLease(held)).toBeDefined();
  });

  it('rejects rates outside [0, 1] and inverted latency ranges', () => {
    const inner = new MemoryLeaseStore();
    expect(() => new FaultInjectingLeaseStore(inner, { seed: 1, faults: { throttleRate: 1.5 } })).toThrow(RangeError);
    expect(
      () => new FaultInjectingLeaseStore(inner, { seed: 1, faults: { throttleRate: 0.6, serverErrorRate: 0.6 } }),
    ).toThrow(/must not exceed 1/);
    expect(
      () => new FaultInjectingLeaseStore(inner, { seed: 1, operations: { getLease: { latencyMs: [10, 5] } } }),
    ).toThrow(/getLease.*latencyMs/);
  });
});

describe('injectDynamoDbFaults on a real client', () => {
  async function storeWithFaults(
    maxAttempts: number,
    rates: { throttleRate?: number; serverErrorRate?: number },
  ): Promise<{ store: DynamoDbLeaseStore; faults: ReturnType<typeof injectDynamoDbFaults>; own: DynamoDBClient }> {
    const own = dedicatedClient({ maxAttempts });
    const store = new DynamoDbLeaseStore(own, uniqueTableName());
    await store.ensureTable();
    return { store, faults: injectDynamoDbFaults(own, { seed: 11, ...rates }), own };
  }

  it('throttling is retried by the SDK; a retriable LeaseStoreError surfaces after maxAttempts', async () => {
    const { store, faults, own } = await storeWithFaults(2, { throttleRate: 1 });
    try {
      const error = await rejection(store.getLease('shard-1'));
      expect(error.retriable).toBe(true);
      expect(causeOf(error)).toMatchObject({
        name: 'ProvisionedThroughputExceededException',
        $metadata: { attempts: 2 },
      });
      expect(faults.attempts).toBe(2);
      expect(faults.throttles).toBe(2);
    } finally {
      own.destroy();
    }
  });

  it('so are server errors, up to maxAttempts', async () => {
    const { store, faults, own } = await storeWithFaults(4, { serverErrorRate: 1 });
    try {
      const error = await rejection(store.takeLease(newLease({ shardId: 'shard-1' }, 'LATEST'), 'worker-a'));
      expect(error.retriable).toBe(true);
      expect(causeOf(error)).toMatchObject({
        name: 'InternalServerError',
        $metadata: { httpStatusCode: 500, attempts: 4 },
      });
      expect(error.message).toMatch(/after 4 attempts/);
      expect(faults.attempts).toBe(4);
    } finally {
      own.destroy();
    }
  });

  it('with a share of requests failing, the SDK retries get every call through', async () => {
    const { store, faults, own } = await storeWithFaults(8, { serverErrorRate: 0.3 });
    try {
      const calls = 30;
      for (let i = 0; i < calls - 1; i++) {
        expect(await store.createLeaseIfNotExists(newLease({ shardId: `shard-${i}` }, 'LATEST'))).toBe(true);
      }
      expect((await store.listLeases()).leases).toHaveLength(calls - 1);
      expect(faults.serverErrors).toBeGreaterThan(0);
      expect(faults.attempts).toBe(calls + faults.serverErrors);
    } finally {
      own.destroy();
    }
  });

  it('configure() changes the rates and remove() takes the middleware off', async () => {
    const { store, faults, own } = await storeWithFaults(1, { throttleRate: 1 });
    try {
      await rejection(store.getLease('shard-1'));
      faults.configure({ serverErrorRate: 1 });
      expect(causeOf(await rejection(store.getLease('shard-1'))).name).toBe('InternalServerError');
      faults.remove();
      expect(await store.getLease('shard-1')).toBeUndefined();
      expect(faults.attempts).toBe(2);
    } finally {
      own.destroy();
    }
  });
});

describe('DynamoDbLeaseStore errors and limits', () => {
  it('a missing table is not retriable', async () => {
    const error = await rejection(new DynamoDbLeaseStore(client, 'no-such-table').getLease('shard-1'));
    expect(error.retriable).toBe(false);
    expect(causeOf(error).name).toBe('ResourceNotFoundException');
    expect(error.message).toMatch(/getLease\(shard-1\) on lease table "no-such-table"/);
  });

  it('an unreachable endpoint is retriable; create() makes a client with few SDK attempts', async () => {
    const port = await freeLoopbackPort();
    const store = DynamoDbLeaseStore.create({
      region: REGION,
      endpoint: `http://${LOOPBACK}:${port}`,
      credentials: CREDENTIALS,
      tableName: 'leases',
    });
    try {
      const error = await rejection(store.listLeases());
      expect(error.retriable).toBe(true);
      expect(error.message).toMatch(/ECONNREFUSED/);
      expect(causeOf(error).$metadata?.attempts).toBe(LEASE_STORE_MAX_ATTEMPTS);
    } finally {
      store.close();
    }
  });

  it('a request that gets no answer is aborted after operationTimeoutMs, retriable', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, LOOPBACK, resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const own = dedicatedClient({ endpoint: `http://${LOOPBACK}:${port}`, maxAttempts: 3 });
    try {
      const store = new DynamoDbLeaseStore(own, 'leases', { operationTimeoutMs: 300 });
      const started = performance.now();
      const error = await rejection(store.renewLease({ ...newLease({ shardId: 'shard-1' }, 'LATEST'), leaseOwner: 'a' }));
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(error.retriable).toBe(true);
      expect(error.message).toMatch(/timed out after 300 ms/);
    } finally {
      own.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('classifies errors by name, status and network code, never by message', () => {
    const sdkError = (name: string, httpStatusCode?: number): object => ({
      name,
      message: 'throttled, please retry',
      $metadata: httpStatusCode === undefined ? {} : { httpStatusCode },
    });
    const retriable = [
      sdkError('ProvisionedThroughputExceededException', 400),
      sdkError('ThrottlingException', 400),
      sdkError('RequestLimitExceeded', 400),
      sdkError('InternalServerError', 500),
      sdkError('ServiceUnavailable', 503),
      sdkError('SomethingNew', 502),
      sdkError('TooManyRequests', 429),
      sdkError('TimeoutError'),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      new AggregateError([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })]),
    ];
    const notRetriable = [
      sdkError('ResourceNotFoundException', 400),
      sdkError('ValidationException', 400),
      sdkError('AccessDeniedException', 400),
      sdkError('UnrecognizedClientException', 400),
      new TypeError('x is not a function'),
    ];
    for (const error of retriable) expect([error, isRetriableDynamoDbError(error)]).toEqual([error, true]);
    for (const error of notRetriable) expect([error, isRetriableDynamoDbError(error)]).toEqual([error, false]);
  });

  it('rejects options that make no sense', () => {
    expect(() => new DynamoDbLeaseStore(client, 'leases', { scanPageSize: 0 })).toThrow(RangeError);
    expect(() => new DynamoDbLeaseStore(client, 'leases', { operationTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => new DynamoDbLeaseStore(client, '')).toThrow(RangeError);
  });
});

describe('FaultInjectingLeaseStore over DynamoDbLeaseStore', () => {
  it('an ambiguous take lands in the real table although the caller saw an error', async () => {
    const inner: LeaseStore = new DynamoDbLeaseStore(client, uniqueTableName());
    const faulty = new FaultInjectingLeaseStore(inner, { seed: 5, operations: { takeLease: { ambiguousRate: 1 } } });
    await faulty.ensureTable();
    await faulty.createLeaseIfNotExists(newLease({ shardId: 'shard-1' }, 'LATEST'));
    const lease = (await faulty.getLease('shard-1')) as Lease;
    await rejection(faulty.takeLease(lease, 'worker-a'));
    expect((await inner.getLease('shard-1'))?.leaseOwner).toBe('worker-a');
  });
});
