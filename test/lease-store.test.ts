/**
 * The lease stores: the conformance suite on MemoryLeaseStore and on
 * DynamoDbLeaseStore over dynalite (a fresh table per test), then
 * DynamoDbLeaseStore's error mapping and limits.
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
import { newLease } from '../src/lease/lease.js';
import { LeaseStoreError } from '../src/lease/lease-store.js';
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
