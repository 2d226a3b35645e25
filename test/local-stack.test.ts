/**
 * The embedded stack in-process: provisioned as CALI expects, loopback only,
 * and nothing left running after stop() or after a failed start.
 * Runs src/local from source; the Kinesis preload comes from dist/ (build first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamSummaryCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient, createKinesisClient, createS3Client } from '../src/aws.js';
import { isCaliError } from '../src/errors.js';
import { createLeaseTableIfMissing } from '../src/lease/table.js';
import {
  ARCHIVE_BUCKET,
  DLQ_BUCKET,
  formatEnvFile,
  LOCAL_STACK_ENV_NAMES,
  startLocalStack,
  type LocalStack,
} from '../src/local/stack.js';
import { isAlive, kinesisChildren, socketInodes, tcpListeners } from './support/proc.js';

const STREAM = 'local-stack-test';
const APP = 'local-stack-app';

describe('startLocalStack', () => {
  let stack: LocalStack;
  let startMs = 0;

  beforeAll(async () => {
    const started = performance.now();
    stack = await startLocalStack({ shards: 2, streamName: STREAM, appName: APP });
    startMs = performance.now() - started;
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const clientOptions = (): { region: string; credentials: LocalStack['credentials'] } => ({
    region: stack.region,
    credentials: stack.credentials,
  });

  it('starts within a few seconds', () => {
    expect(startMs).toBeLessThan(10_000);
  });

  it('exposes the environment a CALI process needs, pointing at loopback', () => {
    expect(Object.keys(stack.env).sort()).toEqual([...LOCAL_STACK_ENV_NAMES].sort());
    expect(stack.env).toMatchObject({
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_KINESIS: stack.endpoints.kinesis,
      AWS_ENDPOINT_URL_DYNAMODB: stack.endpoints.dynamodb,
      AWS_ENDPOINT_URL_S3: stack.endpoints.s3,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      CALI_STREAM_NAME: STREAM,
      CALI_APP_NAME: APP,
      CALI_DLQ_URI: 's3://cali-dlq/dlq/',
      CALI_ARCHIVE_URI: 's3://cali-archive/archive/',
    });
    for (const endpoint of Object.values(stack.endpoints)) expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('creates the stream ACTIVE with the requested shards', async () => {
    const kinesis = createKinesisClient({ ...clientOptions(), endpoint: stack.endpoints.kinesis });
    try {
      const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: STREAM }));
      expect(StreamDescriptionSummary?.StreamStatus).toBe('ACTIVE');
      const { Shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: STREAM }));
      expect(Shards).toHaveLength(2);
    } finally {
      kinesis.destroy();
    }
  });

  it('creates the lease table in the KCL schema, and creating it again is a no-op', async () => {
    const dynamoDb = createDynamoDbClient({ ...clientOptions(), endpoint: stack.endpoints.dynamodb });
    try {
      const { Table } = await dynamoDb.send(new DescribeTableCommand({ TableName: APP }));
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.KeySchema).toEqual([{ AttributeName: 'leaseKey', KeyType: 'HASH' }]);
      expect(Table?.AttributeDefinitions).toEqual([{ AttributeName: 'leaseKey', AttributeType: 'S' }]);
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      await createLeaseTableIfMissing(dynamoDb, APP);
    } finally {
      dynamoDb.destroy();
    }
  });

  it('creates both buckets; objects round-trip byte for byte', async () => {
    const s3 = createS3Client({ ...clientOptions(), endpoint: stack.endpoints.s3 });
    try {
      for (const bucket of [DLQ_BUCKET, ARCHIVE_BUCKET]) {
        const body = `{"bucket":"${bucket}","n":1}\n{"n":2}\n`;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'test/object.ndjson', Body: body }));
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'test/object.ndjson' }));
        expect(await object.Body?.transformToString()).toBe(body);
      }
    } finally {
      s3.destroy();
    }
  });

  it.runIf(existsSync('/proc/net/tcp'))('listens on 127.0.0.1 only, the Kinesis child included', () => {
    const listeners = tcpListeners();
    const kinesisInodes = socketInodes(stack.kinesisPid);
    // kinesis-mock opens a plain and a TLS port; both must be forced onto loopback.
    const kinesisListeners = listeners.filter((listener) => kinesisInodes.has(listener.inode));
    expect(kinesisListeners.length).toBeGreaterThanOrEqual(2);
    for (const listener of kinesisListeners) expect(listener.address).toBe('127.0.0.1');
    for (const endpoint of Object.values(stack.endpoints)) {
      const port = Number(new URL(endpoint).port);
      const onPort = listeners.filter((listener) => listener.port === port);
      expect(onPort.length).toBeGreaterThan(0);
      for (const listener of onPort) expect(listener.address).toBe('127.0.0.1');
    }
  });

  it('stop() ends the Kinesis child and is idempotent', async () => {
    expect(kinesisChildren(process.pid)).toContain(stack.kinesisPid);
    await Promise.all([stack.stop(), stack.stop()]);
    expect(isAlive(stack.kinesisPid)).toBe(false);
    await stack.stop();
  });
});

describe('startLocalStack failures', () => {
  let occupied: Server;
  let occupiedPort = 0;

  beforeAll(async () => {
    occupied = createServer();
    await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
    const address = occupied.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    occupiedPort = address.port;
  });

  afterAll(async () => {
    await new Promise((resolve) => occupied.close(resolve));
  });

  it('names a taken port and stops the emulators that did start', async () => {
    const before = new Set(kinesisChildren(process.pid));
    const error: unknown = await startLocalStack({
      shards: 1,
      streamName: STREAM,
      appName: APP,
      ports: { dynamodb: occupiedPort },
    }).catch((caught: unknown) => caught);
    expect(isCaliError(error) && error.code).toBe('CALI_ERR_PORT_IN_USE');
    expect((error as Error).message).toContain(`port ${occupiedPort} for the DynamoDB emulator`);
    // The Kinesis child started in parallel must be gone, not orphaned.
    expect(kinesisChildren(process.pid).filter((pid) => !before.has(pid))).toEqual([]);
  });
});

describe('formatEnvFile', () => {
  it('writes lines a shell sources back verbatim', () => {
    const env = {
      PLAIN: 'http://127.0.0.1:4567',
      SPACES: 'a b  c',
      QUOTES: `it's "quoted"`,
      SHELL: '$HOME `id` $(id) \\ ; & | *',
      EMPTY: '',
    };
    const text = formatEnvFile(env);
    expect(text).toContain('PLAIN=http://127.0.0.1:4567\n');
    const dir = mkdtempSync(join(tmpdir(), 'cali-envfile-'));
    try {
      const file = join(dir, 'env');
      writeFileSync(file, text);
      const script = `set -a; . '${file}'; set +a; for n in ${Object.keys(env).join(' ')}; do printf '%s\\0' "\${!n}"; done`;
      const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.split('\0').slice(0, -1)).toEqual(Object.values(env));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects names a shell cannot assign', () => {
    expect(() => formatEnvFile({ 'BAD-NAME': 'x' })).toThrow(/BAD-NAME/);
  });
});
