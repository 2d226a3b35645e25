/**
 * The two ObjectStore implementations held to one contract (S3 against the
 * embedded s3rver, a local temp directory), their error classification, and
 * CALI_DLQ_URI / CALI_ARCHIVE_URI parsing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../src/aws.js';
import { isCaliError } from '../src/errors.js';
import { S3RVER_CREDENTIALS, startS3Emulator, type S3Emulator } from '../src/local/s3.js';
import { createObjectStore, parseDestinationUri } from '../src/pipeline/sinks/object-store/destination.js';
import { LocalObjectStore } from '../src/pipeline/sinks/object-store/local-object-store.js';
import { ObjectStoreError, type ObjectStore } from '../src/pipeline/sinks/object-store/object-store.js';
import { classifyS3Error, S3ObjectStore } from '../src/pipeline/sinks/object-store/s3-object-store.js';

const BUCKET = 'cali-sinks-test';
const NDJSON = { contentType: 'application/x-ndjson' };

async function readAll(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function keys(store: ObjectStore, prefix = '', startAfter?: string): Promise<string[]> {
  const listed: string[] = [];
  for await (const object of store.list(prefix, { startAfter })) listed.push(object.key);
  return listed;
}

async function rejection(promise: Promise<unknown>): Promise<ObjectStoreError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ObjectStoreError);
  return error as ObjectStoreError;
}

let emulator: S3Emulator;
let s3: S3Client;
let directory: string;

beforeAll(async () => {
  emulator = await startS3Emulator({ buckets: [BUCKET] });
  // One attempt: the writer owns retries, and the tests want to see each failure.
  s3 = createS3Client({ region: 'us-east-1', endpoint: emulator.endpoint, credentials: S3RVER_CREDENTIALS, maxAttempts: 1 });
  directory = await mkdtemp(join(tmpdir(), 'cali-sinks-store-'));
});

afterAll(async () => {
  s3?.destroy();
  await emulator?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

let storeCount = 0;
const implementations: [string, () => ObjectStore][] = [
  ['S3 (s3rver)', () => new S3ObjectStore(s3, BUCKET, `contract-${++storeCount}/`, 2)],
  ['local directory', () => new LocalObjectStore(join(directory, `contract-${++storeCount}`))],
];

describe.each(implementations)('ObjectStore contract: %s', (_name, makeStore) => {
  it('round-trips bytes exactly, binary included', async () => {
    const store = makeStore();
    const every = Buffer.from(Array.from({ length: 256 }, (_, value) => value));
    const large = randomBytes(300 * 1024);
    await store.put('2025/01/01/00/every.bin', every, NDJSON);
    await store.put('2025/01/01/00/large.bin', large, { contentType: 'application/x-ndjson', contentEncoding: 'gzip' });
    expect((await readAll(store, '2025/01/01/00/every.bin')).equals(every)).toBe(true);
    expect((await readAll(store, '2025/01/01/00/large.bin')).equals(large)).toBe(true);
  });

  it('replaces an object put again under the same key (a retried put is idempotent)', async () => {
    const store = makeStore();
    await store.put('k/one', Buffer.from('first\n'), NDJSON);
    await store.put('k/one', Buffer.from('second\n'), NDJSON);
    expect((await readAll(store, 'k/one')).toString()).toBe('second\n');
    expect(await keys(store)).toEqual(['k/one']);
  });

  it('lists keys in order, by prefix and after a key, across pages, with sizes', async () => {
    const store = makeStore();
    const written = ['2025/01/01/00/a.ndjson', '2025/01/01/01/b.ndjson', '2025/01/01/01/c.ndjson', '2025/01/02/00/d.ndjson', 'other/e.ndjson'];
    for (const key of [...written].reverse()) await store.put(key, Buffer.from(key), NDJSON);
    expect(await keys(store)).toEqual(written);
    expect(await keys(store, '2025/01/01/')).toEqual(written.slice(0, 3));
    expect(await keys(store, '', '2025/01/01/01/b.ndjson')).toEqual(written.slice(2));
    expect(await keys(store, '2025/', '2025/01/01/01/')).toEqual(written.slice(1, 4));
    expect(await keys(store, 'nothing-here/')).toEqual([]);
    const sizes: number[] = [];
    for await (const object of store.list('other/')) sizes.push(object.sizeBytes);
    expect(sizes).toEqual([Buffer.byteLength('other/e.ndjson')]);
  });

  it('reports a missing key as not_found', async () => {
    const error = await rejection(makeStore().get('no/such/key.ndjson'));
    expect(error).toMatchObject({ code: 'not_found', retriable: false });
  });

  it('deletes idempotently', async () => {
    const store = makeStore();
    await store.put('gone.ndjson', Buffer.from('x\n'), NDJSON);
    await store.delete('gone.ndjson');
    await store.delete('gone.ndjson');
    expect(await keys(store)).toEqual([]);
  });

  it('reports an aborted put as retriable and leaves no object', async () => {
    const store = makeStore();
    const error = await rejection(store.put('aborted.ndjson', Buffer.from('x\n'), { ...NDJSON, signal: AbortSignal.abort() }));
    expect(error.retriable).toBe(true);
    expect(await keys(store)).toEqual([]);
  });
});

describe('S3ObjectStore', () => {
  it('sends the content type and encoding', async () => {
    const store = new S3ObjectStore(s3, BUCKET, 'headers/');
    await store.put('x.ndjson.gz', Buffer.from([0x1f, 0x8b]), { contentType: 'application/x-ndjson', contentEncoding: 'gzip' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'headers/x.ndjson.gz' }));
    expect(head).toMatchObject({ ContentType: 'application/x-ndjson', ContentEncoding: 'gzip' });
  });

  it('lists more than one page of 1000 keys of the embedded s3rver', async () => {
    const store = new S3ObjectStore(s3, BUCKET, 'many/');
    const written = Array.from({ length: 1003 }, (_, index) => `k${String(index).padStart(5, '0')}`);
    for (let start = 0; start < written.length; start += 50) {
      await Promise.all(written.slice(start, start + 50).map((key) => store.put(key, Buffer.from('x'), NDJSON)));
    }
    expect(await keys(store)).toEqual(written);
  }, 120_000);

  it('does not retry a missing bucket or a rejected access key', async () => {
    const missing = await rejection(new S3ObjectStore(s3, 'no-such-bucket', '').put('k', Buffer.from('x'), NDJSON));
    expect(missing).toMatchObject({ code: 'rejected', reason: 'NoSuchBucket', retriable: false });
    const stranger = createS3Client({ region: 'us-east-1', endpoint: emulator.endpoint, credentials: { accessKeyId: 'NOT-S3RVER', secretAccessKey: 'wrong' }, maxAttempts: 1 });
    try {
      const denied = await rejection(new S3ObjectStore(stranger, BUCKET, '').put('k', Buffer.from('x'), NDJSON));
      expect(denied).toMatchObject({ code: 'rejected', retriable: false });
      expect(denied.message).toContain('HTTP 403');
      expect(denied.message).not.toContain('wrong');
    } finally {
      stranger.destroy();
    }
  });

  it('retries a refused connection', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolvePort) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolvePort(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    const nowhere = createS3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: S3RVER_CREDENTIALS, maxAttempts: 1 });
    try {
      const error = await rejection(new S3ObjectStore(nowhere, BUCKET, '').put('k', Buffer.from('x'), NDJSON));
      expect(error).toMatchObject({ code: 'unavailable', reason: 'ECONNREFUSED', retriable: true });
    } finally {
      nowhere.destroy();
    }
  });

  it('classifies throttling, 5xx and timeouts as retriable; 4xx and bugs not', () => {
    const sdkError = (name: string, status?: number): Error =>
      Object.assign(new Error(`${name} happened`), { name, ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }) });
    const retriable = (error: unknown): boolean => classifyS3Error('PutObject', error).retriable;
    expect(retriable(sdkError('SlowDown', 503))).toBe(true);
    expect(retriable(sdkError('InternalError', 500))).toBe(true);
    expect(retriable(sdkError('Unknown', 502))).toBe(true);
    expect(retriable(sdkError('TooManyRequestsException', 429))).toBe(true);
    expect(retriable(sdkError('RequestTimeout', 400))).toBe(true);
    expect(retriable(sdkError('TimeoutError'))).toBe(true);
    expect(retriable(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(retriable(sdkError('AccessDenied', 403))).toBe(false);
    expect(retriable(sdkError('NoSuchBucket', 404))).toBe(false);
    expect(retriable(sdkError('InvalidArgument', 400))).toBe(false);
    expect(retriable(new TypeError('x is not a function'))).toBe(false);
    expect(classifyS3Error('GetObject', sdkError('NoSuchKey', 404)).code).toBe('not_found');
  });
});

describe('LocalObjectStore', () => {
  it('writes through a temporary file: only finished objects are in the directory', async () => {
    const root = join(directory, 'atomic');
    const store = new LocalObjectStore(root);
    await Promise.all(Array.from({ length: 20 }, (_, index) => store.put(`2025/01/01/00/${index}.ndjson`, randomBytes(10_000), NDJSON)));
    const files = await readdir(join(root, '2025/01/01/00'));
    expect(files.filter((name) => name.startsWith('.'))).toEqual([]);
    expect(files).toHaveLength(20);
  });

  it('never lists temporary files (a crash mid-write leaves one)', async () => {
    const root = join(directory, 'leftover');
    const store = new LocalObjectStore(root);
    await store.put('a/b.ndjson', Buffer.from('x\n'), NDJSON);
    await writeFile(join(root, 'a', '.0123456789ab.tmp'), 'half an obj');
    expect(await keys(store)).toEqual(['a/b.ndjson']);
  });

  it('lists in S3 byte order where a file and a directory share a stem ("a-b" before "a/c")', async () => {
    const store = new LocalObjectStore(join(directory, 'order'));
    for (const key of ['a/c', 'a-b', 'a0']) await store.put(key, Buffer.from('x'), NDJSON);
    expect(await keys(store)).toEqual(['a-b', 'a/c', 'a0']);
  });

  it('refuses, without retry, a destination path blocked by a file', async () => {
    const root = join(directory, 'blocked');
    const store = new LocalObjectStore(root);
    await store.put('file', Buffer.from('x'), NDJSON);
    const error = await rejection(store.put('file/child.ndjson', Buffer.from('x'), NDJSON));
    expect(error).toMatchObject({ code: 'rejected', reason: 'EEXIST', retriable: false });
  });

  it('refuses keys that would leave the directory or hide as temporary files', async () => {
    const store = new LocalObjectStore(join(directory, 'keys'));
    for (const key of ['../escape.ndjson', 'a//b', '/abs', 'a/.hidden']) {
      expect(await rejection(store.put(key, Buffer.from('x'), NDJSON))).toMatchObject({ code: 'rejected' });
    }
  });

  it('lists nothing for a directory nobody wrote to yet', async () => {
    expect(await keys(new LocalObjectStore(join(directory, 'never-written')))).toEqual([]);
  });
});

describe('parseDestinationUri', () => {
  it('parses s3://bucket/prefix, normalising the prefix to end with "/"', () => {
    expect(parseDestinationUri('s3://cali-dlq/dlq/', 'CALI_DLQ_URI')).toEqual({ kind: 's3', bucket: 'cali-dlq', prefix: 'dlq/' });
    expect(parseDestinationUri(' s3://cali-archive/a/b ', 'CALI_ARCHIVE_URI')).toEqual({ kind: 's3', bucket: 'cali-archive', prefix: 'a/b/' });
    expect(parseDestinationUri('s3://my.bucket', 'CALI_DLQ_URI')).toEqual({ kind: 's3', bucket: 'my.bucket', prefix: '' });
    expect(parseDestinationUri('s3://my.bucket/', 'CALI_DLQ_URI')).toEqual({ kind: 's3', bucket: 'my.bucket', prefix: '' });
  });

  it('parses local directories: absolute, relative to the working directory, file:// URLs', () => {
    expect(parseDestinationUri('/var/lib/cali/dlq', 'CALI_DLQ_URI')).toEqual({ kind: 'local', directory: '/var/lib/cali/dlq' });
    expect(parseDestinationUri('./data/archive', 'CALI_ARCHIVE_URI')).toEqual({ kind: 'local', directory: resolve('data/archive') });
    expect(parseDestinationUri('file:///tmp/cali%20dlq', 'CALI_DLQ_URI')).toEqual({ kind: 'local', directory: '/tmp/cali dlq' });
  });

  it.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['s3://Upper_Case/x', 'invalid S3 bucket'],
    ['s3://ab/x', 'invalid S3 bucket'],
    ['s3:///prefix', 'invalid S3 bucket'],
    ['s3://bucket//double', 'empty path segment'],
    ['s3://bucket/a?versionId=1', 'query or fragment'],
    ['s3:/bucket/prefix', 'without "//"'],
    ['https://bucket.s3.amazonaws.com/prefix', 'unsupported scheme "https://"'],
    ['gs://bucket/prefix', 'unsupported scheme "gs://"'],
  ])('rejects %j, naming the variable and the fix', (value, problem) => {
    for (const variable of ['CALI_DLQ_URI', 'CALI_ARCHIVE_URI']) {
      let error: unknown;
      try {
        parseDestinationUri(value, variable);
      } catch (failure) {
        error = failure;
      }
      expect(isCaliError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'CALI_ERR_CONFIG' });
      const message = (error as Error).message;
      expect(message.startsWith(`${variable} `)).toBe(true);
      expect(message).toContain(problem);
      expect(message).toMatch(/s3:\/\/|file:\/\//);
    }
  });

  it('creates the store for the destination; S3 needs a client', () => {
    expect(createObjectStore(parseDestinationUri('s3://cali-dlq/dlq/', 'CALI_DLQ_URI'), { s3Client: s3 }).location).toBe('s3://cali-dlq/dlq/');
    expect(createObjectStore(parseDestinationUri('/tmp/x', 'CALI_DLQ_URI')).location).toBe('/tmp/x');
    expect(() => createObjectStore(parseDestinationUri('s3://cali-dlq/', 'CALI_DLQ_URI'))).toThrow(TypeError);
  });
});
