/**
 * The archive and DLQ sinks end to end on both destinations (S3 on the
 * embedded s3rver, a local directory), read back with their readers: archive
 * lines byte for byte, dead letters with their original bytes; the DLQ line
 * format; time windows; sink configuration.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../src/aws.js';
import { isCaliError } from '../src/errors.js';
import { S3RVER_CREDENTIALS, startS3Emulator, type S3Emulator } from '../src/local/s3.js';
import { compileArchiveSinkConfig, type ArchiveSinkConfigInput } from '../src/pipeline/sinks/archive/config.js';
import { readArchivedRecords, readArchiveLines } from '../src/pipeline/sinks/archive/reader.js';
import { ArchiveSink, type ArchiveChunk } from '../src/pipeline/sinks/archive/sink.js';
import { compileDlqSinkConfig, type DlqSinkConfigInput } from '../src/pipeline/sinks/dlq/config.js';
import { parseDeadLetterLine, type DeadLetter } from '../src/pipeline/sinks/dlq/dead-letter.js';
import { readDeadLetters } from '../src/pipeline/sinks/dlq/reader.js';
import { DlqSink } from '../src/pipeline/sinks/dlq/sink.js';
import { objectKey } from '../src/pipeline/sinks/object-key.js';
import { ObjectFormatError } from '../src/pipeline/sinks/object-reader.js';
import { createObjectStore } from '../src/pipeline/sinks/object-store/destination.js';
import type { ObjectStore } from '../src/pipeline/sinks/object-store/object-store.js';
import { MemoryObjectStore } from './support/object-stores.js';

const BUCKET = 'cali-sinks-e2e';
const WORKER = 'test-worker';

let emulator: S3Emulator;
let s3: S3Client;
let directory: string;
let destinationCount = 0;

beforeAll(async () => {
  emulator = await startS3Emulator({ buckets: [BUCKET] });
  s3 = createS3Client({ region: 'us-east-1', endpoint: emulator.endpoint, credentials: S3RVER_CREDENTIALS, maxAttempts: 1 });
  directory = await mkdtemp(join(tmpdir(), 'cali-sinks-e2e-'));
});

afterAll(async () => {
  s3?.destroy();
  await emulator?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

/** A fresh destination URI per test, on S3 or in the temp directory. */
const destinations: [string, () => string][] = [
  ['S3 (s3rver)', () => `s3://${BUCKET}/run-${++destinationCount}/`],
  ['local directory', () => join(directory, `run-${++destinationCount}`)],
];

function archiveSink(input: ArchiveSinkConfigInput): { sink: ArchiveSink; store: ObjectStore } {
  const config = compileArchiveSinkConfig(input);
  return { sink: ArchiveSink.create(config, { workerId: WORKER, s3Client: s3 }), store: createObjectStore(config.destination, { s3Client: s3 }) };
}

function dlqSink(input: DlqSinkConfigInput, now?: () => number): { sink: DlqSink; store: ObjectStore } {
  const config = compileDlqSinkConfig(input);
  const store = createObjectStore(config.destination, { s3Client: s3 });
  return { sink: new DlqSink(config, { store, workerId: WORKER, ...(now === undefined ? {} : { now }) }), store };
}

/** Archive lines as the workers write them: the record, multi-byte text included, plus `_cali`. */
function archiveChunk(shard: number, firstSequence: number, count: number): ArchiveChunk {
  let text = '';
  for (let index = 0; index < count; index++) {
    const sequenceNumber = `4959${String(firstSequence + index).padStart(20, '0')}`;
    text += `${JSON.stringify({
      timestamp: '2025-01-02T03:04:05.678Z',
      level: index % 7 === 0 ? 'ERROR' : 'INFO',
      service: 'checkout',
      message: `order ${firstSequence + index} façade ✓ 注文`,
      log_content: `2025-01-02 03:04:05 INFO order ${firstSequence + index}\n\tat Checkout.run(Checkout.java:42)`,
      _cali: {
        shardId: `shardId-${String(shard).padStart(12, '0')}`,
        sequenceNumber,
        subSequenceNumber: 0,
        fingerprint: index % 7 === 0 ? 'f1a2b3c4d5e6' : null,
        arrivalMs: 1735787045678 + index,
      },
    })}\n`;
  }
  return { bytes: Buffer.from(text), lines: count };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

async function objectBytes(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe.each(destinations)('archive sink on %s', (_name, uri) => {
  it('writes gzip NDJSON objects that read back byte for byte, records with their positions', async () => {
    const { sink, store } = archiveSink({ uri: uri(), maxObjectBytes: 16 * 1024 });
    const chunks = Array.from({ length: 30 }, (_, index) => archiveChunk(index % 3, index * 40, 40));
    // Concurrent calls, as from several shards; each resolves once its lines are in written objects.
    const writes = chunks.map((chunk) => sink.write([chunk]));
    await sink.close();
    await Promise.all(writes);

    const objects = await collect(store.list(''));
    expect(objects.length).toBeGreaterThan(5);
    for (const object of objects) {
      expect(object.key).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{13}-test_worker-[0-9a-f]{8}-\d{6}\.ndjson\.gz$/);
      expect((await objectBytes(store, object.key))[0]).toBe(0x1f);
    }

    const lines = await collect(readArchiveLines(store));
    const expected = Buffer.concat(chunks.map((chunk) => chunk.bytes));
    expect(Buffer.concat(lines.flatMap((line) => [line.bytes, Buffer.from('\n')])).equals(expected)).toBe(true);

    const records = await collect(readArchivedRecords(store));
    expect(records).toHaveLength(30 * 40);
    expect(records[0]?.record._cali).toEqual({ shardId: 'shardId-000000000000', sequenceNumber: `4959${'0'.repeat(20)}`, subSequenceNumber: 0, fingerprint: 'f1a2b3c4d5e6', arrivalMs: 1735787045678 });
    expect(new Set(records.map(({ record }) => `${record._cali.shardId}/${record._cali.sequenceNumber}`)).size).toBe(30 * 40);
    expect(sink.health()).toMatchObject({ healthy: true, consecutiveFailures: 0 });
  });

  it('refuses a chunk that does not end with a newline, writing nothing of the call', async () => {
    const { sink, store } = archiveSink({ uri: uri() });
    const good = archiveChunk(0, 0, 2);
    const error = await sink.write([good, { bytes: Buffer.from('{"half":'), lines: 1 }]).catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'sink_rejected', retriable: false, sink: 'archive' });
    await sink.close();
    expect(await collect(store.list(''))).toEqual([]);
  });
});

function deadLetter(index: number, data: Uint8Array): DeadLetter {
  const reasons: DeadLetter['reason'][] = [
    { code: 'schema_violation', message: 'record does not match LogRecord', errors: [{ path: '$input.level', expected: '("INFO" | "WARN")' }] },
    { code: 'malformed_json', message: 'Unexpected end of JSON input' },
    { code: 'gzip_corrupt' },
    { code: 'worker_crash', message: 'worker exited with code 1', errors: [] },
  ];
  return {
    shardId: `shardId-00000000000${index % 2}`,
    sequenceNumber: `49590338271490256608559692538361571095921575989136588898${index}`,
    subSequenceNumber: index % 3,
    reason: reasons[index % reasons.length] ?? { code: 'unknown' },
    data,
    failedAtMs: Date.UTC(2025, 0, 2, 3, 4, 5, index),
  };
}

describe.each(destinations)('DLQ sink on %s', (_name, uri) => {
  it('keeps the original record bytes exactly (binary, invalid UTF-8, gzip, empty), positions and reasons', async () => {
    const { sink, store } = dlqSink({ uri: uri(), maxObjectLines: 7 });
    const payloads = [
      Buffer.from(Array.from({ length: 256 }, (_, value) => value)),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x0a, 0x00]),
      Buffer.from([0x1f, 0x8b, 0x08, 0x00]),
      Buffer.alloc(0),
      randomBytes(200 * 1024),
      Buffer.from('{"level":"NOPE"}\n{"also":"bad"}'),
      ...Array.from({ length: 14 }, () => randomBytes(1 + Math.floor(Math.random() * 2000))),
    ];
    // A view into a larger buffer, as the pipeline's packed batches hand them over.
    const packed = Buffer.concat([Buffer.from('prefix'), payloads[1] ?? Buffer.alloc(0), Buffer.from('suffix')]);
    payloads[1] = packed.subarray(6, 6 + 6);
    const letters = payloads.map((data, index) => deadLetter(index, data));
    const writes = [sink.write(letters.slice(0, 10)), sink.write(letters.slice(10))];
    await sink.close();
    await Promise.all(writes);

    const read = await collect(readDeadLetters(store));
    expect(read).toHaveLength(letters.length);
    read.forEach(({ deadLetter: got }, index) => {
      const sent = letters[index];
      expect(Buffer.from(got.data).equals(Buffer.from(sent?.data ?? []))).toBe(true);
      expect({ ...got, data: undefined }).toEqual({ ...sent, data: undefined });
    });
    const keys = (await collect(store.list(''))).map((object) => object.key);
    expect(keys).toHaveLength(3);
    expect(keys.every((key) => key.endsWith('.ndjson'))).toBe(true);
  });

  it('writes the documented line format, plain NDJSON', async () => {
    const { sink, store } = dlqSink({ uri: uri() });
    const written = sink.write([deadLetter(0, Buffer.from('{"a":1}'))]);
    await sink.flush();
    await written;
    const [object] = await collect(store.list(''));
    const text = (await objectBytes(store, object?.key ?? '')).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({
      shardId: 'shardId-000000000000',
      sequenceNumber: '495903382714902566085596925383615710959215759891365888980',
      subSequenceNumber: 0,
      reason: { code: 'schema_violation', message: 'record does not match LogRecord', errors: [{ path: '$input.level', expected: '("INFO" | "WARN")' }] },
      dataBase64: Buffer.from('{"a":1}').toString('base64'),
      failedAt: '2025-01-02T03:04:05.000Z',
    });
    await sink.close();
  });
});

describe('DLQ sink', () => {
  it('refuses a dead letter it cannot encode, writing nothing of the call', async () => {
    const store = new MemoryObjectStore();
    const sink = new DlqSink(compileDlqSinkConfig({ uri: 's3://cali-dlq/dlq/' }), { store, workerId: WORKER });
    const error = await sink.write([deadLetter(0, Buffer.from('x')), { ...deadLetter(1, Buffer.from('y')), failedAtMs: Number.NaN }]).catch((failure: unknown) => failure);
    expect(error).toMatchObject({ code: 'sink_rejected', retriable: false, sink: 'dlq' });
    await sink.close();
    expect(store.puts).toEqual([]);
  });

  it('extra reason fields never reach the DLQ', async () => {
    const store = new MemoryObjectStore();
    const sink = new DlqSink(compileDlqSinkConfig({ uri: '/unused' }), { store, workerId: WORKER });
    const leaky = { ...deadLetter(2, Buffer.from('x')), reason: Object.assign({ code: 'gzip_corrupt' }, { secretHeader: 'Bearer abc' }) };
    const written = sink.write([leaky]);
    await sink.close();
    await written;
    expect(store.texts().join('')).not.toContain('Bearer');
  });
});

describe('parseDeadLetterLine', () => {
  const valid = {
    shardId: 'shardId-000000000001',
    sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
    subSequenceNumber: 0,
    reason: { code: 'malformed_json' },
    dataBase64: 'eyJhIjox',
    failedAt: '2025-01-02T03:04:05.678Z',
  };

  it('accepts a valid line', () => {
    expect(parseDeadLetterLine(JSON.stringify(valid))).toEqual({ success: true, data: valid });
  });

  it.each([
    ['malformed JSON', '{"shardId":', '$input'],
    ['a missing field', JSON.stringify({ ...valid, dataBase64: undefined }), '$input.dataBase64'],
    ['non-base64 data', JSON.stringify({ ...valid, dataBase64: 'not base64!' }), '$input.dataBase64'],
    ['base64 of an impossible length', JSON.stringify({ ...valid, dataBase64: 'eyJhI' }), '$input.dataBase64'],
    ['a bad time', JSON.stringify({ ...valid, failedAt: 'yesterday' }), '$input.failedAt'],
    ['a negative sub-sequence number', JSON.stringify({ ...valid, subSequenceNumber: -1 }), '$input.subSequenceNumber'],
    ['an empty reason code', JSON.stringify({ ...valid, reason: { code: '' } }), '$input.reason.code'],
  ])('rejects %s without throwing, with the path', (_case, line, path) => {
    const result = parseDeadLetterLine(line);
    expect(result.success).toBe(false);
    if (!result.success) expect(result.errors.map((error) => error.path)).toContain(path);
  });
});

describe('readers', () => {
  const at = (hour: number, minute: number, second: number, ms = 0): number => Date.UTC(2025, 2, 4, hour, minute, second, ms);

  it('select objects by their start time: fromMs inclusive, toMs exclusive, across hour partitions', async () => {
    let now = 0;
    const { sink, store } = dlqSink({ uri: join(directory, `window-${++destinationCount}`) }, () => now);
    const starts = [at(10, 59, 59, 500), at(11, 0, 0), at(11, 59, 59, 999), at(12, 30, 0)];
    for (const [index, startMs] of starts.entries()) {
      now = startMs;
      const written = sink.write([deadLetter(index, Buffer.from(`record ${index}`))]);
      await sink.flush();
      await written;
    }
    await sink.close();
    const sequence = async (window: { fromMs?: number; toMs?: number }): Promise<string[]> =>
      (await collect(readDeadLetters(store, window))).map(({ deadLetter: letter }) => Buffer.from(letter.data).toString());
    expect(await sequence({})).toEqual(['record 0', 'record 1', 'record 2', 'record 3']);
    expect(await sequence({ fromMs: at(11, 0, 0), toMs: at(12, 0, 0) })).toEqual(['record 1', 'record 2']);
    expect(await sequence({ fromMs: at(10, 59, 59, 501) })).toEqual(['record 1', 'record 2', 'record 3']);
    expect(await sequence({ toMs: at(11, 0, 0) })).toEqual(['record 0']);
    expect(await sequence({ fromMs: at(13, 0, 0) })).toEqual([]);
  });

  it('ignore keys outside the scheme, read plain and gzip objects alike, and report a bad line by object and number', async () => {
    const store = new MemoryObjectStore();
    const plain = archiveChunk(0, 0, 2);
    const key = objectKey({ startMs: at(9, 0, 0), workerId: 'other', writerId: '00000000', sequence: 0, compression: 'none' });
    await store.put(key, plain.bytes, { contentType: 'application/x-ndjson' });
    await store.put('README.txt', Buffer.from('not an archive object\n'), { contentType: 'text/plain' });
    await store.put('2025/03/04/09/notes.ndjson', Buffer.from('{"x":1}\n'), { contentType: 'application/x-ndjson' });
    const sink = new ArchiveSink(compileArchiveSinkConfig({ uri: '/unused' }), { store, workerId: WORKER, now: () => at(10, 0, 0) });
    const gzipped = archiveChunk(1, 100, 3);
    const written = sink.write([gzipped]);
    await sink.close();
    await written;
    const lines = await collect(readArchiveLines(store));
    expect(Buffer.concat(lines.flatMap((line) => [line.bytes, Buffer.from('\n')])).equals(Buffer.concat([plain.bytes, gzipped.bytes]))).toBe(true);

    const broken = objectKey({ startMs: at(11, 0, 0), workerId: 'other', writerId: '00000000', sequence: 1, compression: 'none' });
    await store.put(broken, Buffer.from(`${plain.bytes.toString()}{"_cali":{"shardId":""}}\n`), { contentType: 'application/x-ndjson' });
    const error = await collect(readArchivedRecords(store)).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ObjectFormatError);
    expect(error).toMatchObject({ objectKey: broken, lineNumber: 3 });
    expect((error as Error).message).toContain('$input._cali.shardId');
  });

  it('stop early without reading the rest', async () => {
    const { sink, store } = archiveSink({ uri: `s3://${BUCKET}/early-${++destinationCount}/`, maxObjectLines: 10 });
    const written = sink.write(Array.from({ length: 5 }, (_, index) => archiveChunk(0, index * 10, 10)));
    await sink.close();
    await written;
    const seen: number[] = [];
    for await (const line of readArchiveLines(store)) {
      seen.push(line.lineNumber);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    // The abandoned response was released: the client can still list and read.
    expect(await collect(store.list(''))).toHaveLength(5);
  });
});

describe('sink configuration', () => {
  it('defaults: archive gzip, DLQ plain; 8 MiB, 0.5 s, 2 in flight, 32 MiB buffered, 5 attempts', () => {
    const archive = compileArchiveSinkConfig({ uri: 's3://cali-archive/archive/' });
    expect(archive).toEqual({
      destination: { kind: 's3', bucket: 'cali-archive', prefix: 'archive/' },
      maxObjectBytes: 8 * 1024 * 1024,
      maxObjectLines: 100_000,
      maxObjectAgeMs: 500,
      maxInFlightObjects: 2,
      maxBufferedBytes: 32 * 1024 * 1024,
      compression: 'gzip',
      retry: { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 5_000, attemptTimeoutMs: 30_000 },
    });
    expect(Object.isFrozen(archive)).toBe(true);
    expect(compileDlqSinkConfig({ uri: './dlq' })).toMatchObject({ compression: 'none', maxObjectLines: 10_000 });
  });

  it.each([
    [{ maxObjectByte: 1 }, '"maxObjectByte" is not an option'],
    [{ maxObjectBytes: 0 }, 'maxObjectBytes must be a positive integer'],
    [{ maxObjectAgeMs: 1.5 }, 'maxObjectAgeMs must be a positive integer'],
    [{ maxObjectBytes: 2_000, maxBufferedBytes: 1_000 }, 'maxBufferedBytes (1000) is below maxObjectBytes (2000)'],
    [{ compression: 'zstd' }, 'compression is "zstd"'],
    [{ retry: { attempts: 3 } }, '"attempts" is not an option'],
    [{ retry: { initialBackoffMs: 500, maxBackoffMs: 100 } }, 'maxBackoffMs (100) is below initialBackoffMs (500)'],
  ])('rejects %j with the option named', (options, message) => {
    for (const compile of [compileArchiveSinkConfig, compileDlqSinkConfig]) {
      let error: unknown;
      try {
        compile({ uri: '/tmp/x', ...(options as object) });
      } catch (failure) {
        error = failure;
      }
      expect(isCaliError(error)).toBe(true);
      expect((error as Error).message).toContain(message);
    }
  });

  it('names CALI_ARCHIVE_URI or CALI_DLQ_URI in destination errors', () => {
    expect(() => compileArchiveSinkConfig({ uri: 'ftp://x/y' })).toThrow(/^CALI_ARCHIVE_URI /);
    expect(() => compileDlqSinkConfig({ uri: 's3://NO/x' })).toThrow(/^CALI_DLQ_URI /);
  });
});
