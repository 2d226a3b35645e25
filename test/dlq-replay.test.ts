/**
 * `cali dlq replay` on local directories: dead letters written by the real
 * DlqSink (valid simulator records dead-lettered for a reason the current
 * validator does not give, as if a rule had been fixed since, and truly
 * invalid records) are replayed through the real worker pool; what passes is
 * archived under its original position (sub-records of newline-joined, KPL
 * and gzip records included), what fails keeps or renews its reason, a
 * second replay writes nothing, a dry run writes nothing, a crash between
 * the archive write and the marker duplicates at most one batch, bad lines
 * are counted and passed over; the same on S3; and the CLI around it.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../src/aws.js';
import { parseTimeSpec } from '../src/cli/options.js';
import type { StreamRecord } from '../src/lease/record-processor.js';
import { S3RVER_CREDENTIALS, startS3Emulator, type S3Emulator } from '../src/local/s3.js';
import { REPLAY_WORKER_ID, WORKER_SETTINGS } from '../src/main.js';
import { coveredSubSequences, replayDeadLetters, type DlqReplayOptions, type ReplaySummary } from '../src/pipeline/dlq-replay.js';
import { packBatch } from '../src/pipeline/pack.js';
import { deadLettersOf } from '../src/pipeline/record-pipeline.js';
import { compileArchiveSinkConfig } from '../src/pipeline/sinks/archive/config.js';
import { readArchivedRecords } from '../src/pipeline/sinks/archive/reader.js';
import { ArchiveSink } from '../src/pipeline/sinks/archive/sink.js';
import { compileDlqSinkConfig } from '../src/pipeline/sinks/dlq/config.js';
import type { DeadLetter } from '../src/pipeline/sinks/dlq/dead-letter.js';
import { readDeadLetters } from '../src/pipeline/sinks/dlq/reader.js';
import { scanReplayMarkers } from '../src/pipeline/sinks/dlq/replay-marker.js';
import { DlqSink } from '../src/pipeline/sinks/dlq/sink.js';
import { objectKey } from '../src/pipeline/sinks/object-key.js';
import { LocalObjectStore } from '../src/pipeline/sinks/object-store/local-object-store.js';
import { ObjectStoreError, type ObjectStore } from '../src/pipeline/sinks/object-store/object-store.js';
import { S3ObjectStore } from '../src/pipeline/sinks/object-store/s3-object-store.js';
import { WorkerPool } from '../src/pipeline/worker-pool.js';
import { LogSimulator, steppingClock, type InvalidEvent, type ValidEvent } from '../src/simulator/generator.js';
import { encodeKplAggregate, SUB_RECORD_STRIDE } from '../src/workers/decode/index.js';
import { compileFingerprinter } from '../src/workers/fingerprint/fingerprint.js';
import { compileBatchProcessor } from '../src/workers/process-batch.js';
import { cliEnv, runCli } from './support/cli.js';
import { FaultyObjectStore } from './support/object-stores.js';

const SHARDS = ['shardId-000000000000', 'shardId-000000000001'] as const;
/** A reason the current validator never gives: the "rule" that was fixed since. */
const OLD_RULE = { code: 'schema_violation', message: 'record does not match LogRecord', errors: [{ path: '$input.service', expected: 'string & MaxLength<8> (rule removed)' }] };
const HOUR_MS = 3_600_000;

const scratch = mkdtempSync(join(tmpdir(), 'cali-replay-'));
let pool: WorkerPool;
let destinations = 0;

beforeAll(() => {
  pool = new WorkerPool({ threads: 1, settings: WORKER_SETTINGS });
});

afterAll(async () => {
  await pool?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

const processBatch = compileBatchProcessor(WORKER_SETTINGS, compileFingerprinter());
const encoder = new TextEncoder();
let sequence = 0;

function nextSequence(): string {
  return `49650000000000000000000000000000000000000000${String(++sequence).padStart(12, '0')}`;
}

function events(n: number, invalidRatio: number, seed: number): (ValidEvent | InvalidEvent)[] {
  const simulator = new LogSimulator({ seed, errorRatio: 0.3, invalidRatio, clock: steppingClock(Date.parse('2026-11-01T10:00:00Z'), 11) });
  return Array.from({ length: n }, () => simulator.next());
}

function streamRecord(data: Uint8Array): StreamRecord {
  return { data, sequenceNumber: nextSequence(), partitionKey: 'k', approximateArrivalMs: undefined };
}

/** What the consumer would dead-letter for this record today: the processor's own reasons. */
function currentDeadLetters(shardId: string, record: StreamRecord, failedAtMs: number): DeadLetter[] {
  return deadLettersOf(shardId, [record], processBatch(packBatch(shardId, [record]).task), failedAtMs);
}

function oldDeadLetter(shardId: string, record: StreamRecord, subSequenceNumber: number, reason: DeadLetter['reason'], failedAtMs: number): DeadLetter {
  return { shardId, sequenceNumber: record.sequenceNumber, subSequenceNumber, reason, data: record.data, failedAtMs };
}

interface Fixture {
  readonly dlqDir: string;
  readonly archiveDir: string;
  readonly dlq: ObjectStore;
  readonly archive: ObjectStore;
  /** Positions (shard/sequence/sub) that the replay must archive, each exactly once. */
  readonly expectArchived: Map<string, Record<string, unknown>>;
  /** Dead letters still failing for the recorded reason, by code. */
  readonly expectUnchanged: Record<string, number>;
  /** Dead letters failing for a new reason, by the new code. */
  readonly expectRewritten: Record<string, number>;
  readonly deadLetters: number;
  readonly duplicates: number;
}

const position = (shardId: string, sequenceNumber: string, sub: number): string => `${shardId}/${sequenceNumber}/${sub}`;

/**
 * A DLQ as the consumer writes it, started `ageMs` ago, with:
 * valid records under an old rule (archived by the replay), invalid records with
 * their current reason (unchanged) and with an outdated one (rewritten), a
 * newline-joined record, a KPL aggregate and a gzip record of which only some
 * sub-records were dead-lettered, a worker_crash, and one dead letter written twice.
 */
async function writeFixture(ageMs = 2 * HOUR_MS, stores?: { dlq: ObjectStore; archive: ObjectStore }): Promise<Fixture> {
  const id = ++destinations;
  const dlqDir = join(scratch, `dlq-${id}`);
  const archiveDir = join(scratch, `archive-${id}`);
  const dlq = stores?.dlq ?? new LocalObjectStore(dlqDir);
  const startMs = Date.now() - ageMs;
  let clock = startMs;
  const sink = new DlqSink(compileDlqSinkConfig({ uri: dlqDir, maxObjectLines: 7 }), { store: dlq, workerId: 'consumer-1', now: () => (clock += 10) });
  const expectArchived = new Map<string, Record<string, unknown>>();
  const expectUnchanged: Record<string, number> = {};
  const expectRewritten: Record<string, number> = {};
  const letters: DeadLetter[] = [];
  const bump = (counts: Record<string, number>, code: string): void => { counts[code] = (counts[code] ?? 0) + 1; };

  const valid = events(60, 0, id).filter((e): e is ValidEvent => e.kind === 'valid');
  const invalid = events(60, 1, id + 100).filter((e): e is InvalidEvent => e.kind === 'invalid' && e.invalidKind !== 'oversized');

  // 1. Valid records dead-lettered under the old rule.
  for (const [i, event] of valid.slice(0, 20).entries()) {
    const shardId = SHARDS[i % 2]!;
    const record = streamRecord(event.data);
    letters.push(oldDeadLetter(shardId, record, 0, OLD_RULE, clock));
    expectArchived.set(position(shardId, record.sequenceNumber, 0), event.record as unknown as Record<string, unknown>);
  }
  // 2. Invalid records, dead-lettered by today's processor: still invalid for the same reason.
  for (const [i, event] of invalid.slice(0, 8).entries()) {
    const current = currentDeadLetters(SHARDS[i % 2]!, streamRecord(event.data), clock);
    expect(current).toHaveLength(1);
    letters.push(...current);
    bump(expectUnchanged, current[0]!.reason.code);
  }
  // 3. Invalid records under an outdated reason: written again with today's.
  for (const [i, event] of invalid.slice(8, 12).entries()) {
    const shardId = SHARDS[i % 2]!;
    const record = streamRecord(event.data);
    const current = currentDeadLetters(shardId, record, clock);
    letters.push(oldDeadLetter(shardId, record, 0, { code: 'legacy_check', message: 'a check that no longer exists' }, clock));
    bump(expectRewritten, current[0]!.reason.code);
  }
  // 4. Newline-joined (Fluent Bit simple_aggregation): line 0 was archived, line 1 is invalid, line 2 hit the old rule.
  {
    const broken = { ...valid[20]!.record } as Partial<ValidEvent['record']>;
    delete broken.level;
    const joined = streamRecord(encoder.encode(`${JSON.stringify(valid[21]!.record)}\n${JSON.stringify(broken)}\n${JSON.stringify(valid[22]!.record)}`));
    const current = currentDeadLetters(SHARDS[0], joined, clock);
    expect(current.map((d) => d.subSequenceNumber)).toEqual([1]);
    letters.push(current[0]!, oldDeadLetter(SHARDS[0], joined, 2, OLD_RULE, clock));
    bump(expectUnchanged, 'schema_violation');
    expectArchived.set(position(SHARDS[0], joined.sequenceNumber, 2), valid[22]!.record as unknown as Record<string, unknown>);
  }
  // 5. KPL aggregate: sub-record 0 was archived, sub-record 1 hit the old rule.
  {
    const aggregate = streamRecord(encodeKplAggregate([valid[23]!, valid[24]!].map((e) => ({ partitionKey: 'p', data: e.data }))));
    letters.push(oldDeadLetter(SHARDS[1], aggregate, SUB_RECORD_STRIDE, OLD_RULE, clock));
    expectArchived.set(position(SHARDS[1], aggregate.sequenceNumber, SUB_RECORD_STRIDE), valid[24]!.record as unknown as Record<string, unknown>);
  }
  // 6. A gzip record an older decoder failed as a whole: both of its lines come out now.
  {
    const gzip = streamRecord(gzipSync(`${JSON.stringify(valid[25]!.record)}\n${JSON.stringify(valid[26]!.record)}\n`));
    letters.push(oldDeadLetter(SHARDS[0], gzip, 0, { code: 'gzip_corrupt', message: 'gzip: unexpected end of file' }, clock));
    expectArchived.set(position(SHARDS[0], gzip.sequenceNumber, 0), valid[25]!.record as unknown as Record<string, unknown>);
    expectArchived.set(position(SHARDS[0], gzip.sequenceNumber, 1), valid[26]!.record as unknown as Record<string, unknown>);
  }
  // 7. A record that crashed a worker thread once (since fixed).
  {
    const crashed = streamRecord(valid[27]!.data);
    letters.push(oldDeadLetter(SHARDS[1], crashed, 0, { code: 'worker_crash', message: 'the worker thread crashed twice on this record' }, clock));
    expectArchived.set(position(SHARDS[1], crashed.sequenceNumber, 0), valid[27]!.record as unknown as Record<string, unknown>);
  }
  await Promise.all([sink.write(letters), sink.flush()]);
  // 8. The DLQ is at-least-once too: one dead letter again, in a later object.
  await Promise.all([sink.write([letters[3]!]), sink.close()]);
  return {
    dlqDir, archiveDir, dlq, archive: stores?.archive ?? new LocalObjectStore(archiveDir),
    expectArchived, expectUnchanged, expectRewritten, deadLetters: letters.length + 1, duplicates: 1,
  };
}

function sinksFor(fixture: Fixture, dlqStore: ObjectStore = fixture.dlq): { archive: ArchiveSink; dlq: DlqSink } {
  return {
    archive: new ArchiveSink(compileArchiveSinkConfig({ uri: fixture.archiveDir }), { store: fixture.archive, workerId: REPLAY_WORKER_ID }),
    dlq: new DlqSink(compileDlqSinkConfig({ uri: fixture.dlqDir }), { store: dlqStore, workerId: REPLAY_WORKER_ID }),
  };
}

async function replay(fixture: Fixture, options: Partial<DlqReplayOptions> = {}, store: ObjectStore = fixture.dlq): Promise<ReplaySummary> {
  const dryRun = options.dryRun ?? false;
  const sinks = dryRun ? undefined : sinksFor(fixture, store);
  try {
    return await replayDeadLetters({ store, runner: pool, sinks }, { dryRun, ...options });
  } finally {
    await Promise.all([sinks?.archive.close(), sinks?.dlq.close()]);
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** Every file under a directory with its size and mtime: "nothing written" means this does not change. */
function tree(directory: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (path: string): void => {
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else files[relative(directory, full)] = `${statSync(full).size}@${statSync(full).mtimeMs}`;
    }
  };
  walk(directory);
  return files;
}

async function archivedPositions(fixture: Fixture): Promise<string[]> {
  return (await collect(readArchivedRecords(fixture.archive))).map(({ record }) => position(record._cali.shardId, record._cali.sequenceNumber, record._cali.subSequenceNumber));
}

const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

function sumCounts(...all: Record<string, number>[]): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const counts of all) for (const [code, n] of Object.entries(counts)) sum[code] = (sum[code] ?? 0) + n;
  return sum;
}

describe('dlq replay', () => {
  it('archives what passes now under its original position, keeps or renews the reason of what still fails', async () => {
    const fixture = await writeFixture();
    const summary = await replay(fixture);

    expect(summary).toMatchObject({
      dryRun: false,
      read: fixture.deadLetters,
      replayed: fixture.expectArchived.size,
      skipped: fixture.duplicates,
      superseded: total(fixture.expectRewritten),
      errors: { total: 0 },
    });
    expect(summary.aborted).toBeUndefined();
    expect(summary.stillInvalid).toEqual({
      total: total(fixture.expectUnchanged) + total(fixture.expectRewritten),
      byReason: sumCounts(fixture.expectUnchanged, fixture.expectRewritten),
      unchanged: total(fixture.expectUnchanged),
      rewritten: total(fixture.expectRewritten),
    });

    // Each expected position exactly once, with the original record and the replay's `_cali`.
    const records = await collect(readArchivedRecords(fixture.archive));
    expect(records.map(({ record }) => position(record._cali.shardId, record._cali.sequenceNumber, record._cali.subSequenceNumber)).sort()).toEqual([...fixture.expectArchived.keys()].sort());
    for (const { record } of records) {
      const { _cali: cali, ...fields } = record;
      expect(fields).toEqual(fixture.expectArchived.get(position(cali.shardId, cali.sequenceNumber, cali.subSequenceNumber)));
      expect(cali).toMatchObject({ arrivalMs: null });
    }
    // The archive objects say who wrote them.
    for (const file of Object.keys(tree(fixture.archiveDir))) expect(file).toMatch(new RegExp(`-${REPLAY_WORKER_ID}-[0-9a-f]{8}-\\d{6}\\.ndjson\\.gz$`));

    // New dead letters carry today's reasons; the old ones are marked superseded, the replayed ones archived.
    const letters = await collect(readDeadLetters(fixture.dlq));
    expect(letters).toHaveLength(fixture.deadLetters + total(fixture.expectRewritten));
    const rewritten = letters.filter(({ objectKey: key }) => key.includes(`-${REPLAY_WORKER_ID}-`));
    const rewrittenCodes: Record<string, number> = {};
    for (const { deadLetter } of rewritten) rewrittenCodes[deadLetter.reason.code] = (rewrittenCodes[deadLetter.reason.code] ?? 0) + 1;
    expect(rewrittenCodes).toEqual(fixture.expectRewritten);
    const markers = (await collect(scanReplayMarkers(fixture.dlq))).map((m) => m.marker!);
    expect(markers.filter((m) => m.outcome === 'superseded')).toHaveLength(total(fixture.expectRewritten));
    expect(markers.filter((m) => m.outcome === 'archived')).toHaveLength(fixture.expectArchived.size - 1 + fixture.duplicates);
    for (const marker of markers) expect(letters.some((l) => l.objectKey === marker.objectKey && l.lineNumber === marker.lineNumber)).toBe(true);
  });

  it('a second replay duplicates nothing and writes nothing', async () => {
    const fixture = await writeFixture();
    const first = await replay(fixture);
    const archiveBefore = tree(fixture.archiveDir);
    const dlqBefore = tree(fixture.dlqDir);

    const second = await replay(fixture);
    expect(second).toMatchObject({
      read: fixture.deadLetters + total(fixture.expectRewritten),
      replayed: 0,
      superseded: 0,
      // Every dead letter the first run archived or superseded, the duplicate included.
      skipped: first.replayed - 1 + first.skipped + first.superseded,
      errors: { total: 0 },
    });
    // Today's reasons, once each: the rewritten dead letters are now simply still invalid.
    expect(second.stillInvalid).toMatchObject({ total: first.stillInvalid.total, unchanged: first.stillInvalid.total, rewritten: 0 });
    expect(tree(fixture.archiveDir)).toEqual(archiveBefore);
    expect(tree(fixture.dlqDir)).toEqual(dlqBefore);
    const positions = await archivedPositions(fixture);
    expect(new Set(positions).size).toBe(positions.length);
  });

  it('--dry-run reports what a replay would do and writes nothing', async () => {
    const fixture = await writeFixture();
    const dlqBefore = tree(fixture.dlqDir);
    const dry = await replay(fixture, { dryRun: true });
    expect(tree(fixture.dlqDir)).toEqual(dlqBefore);
    expect(tree(fixture.archiveDir)).toEqual({});

    const real = await replay(fixture);
    const { dryRun: _a, window: _b, ...dryCounts } = dry;
    const { dryRun: _c, window: _d, ...realCounts } = real;
    expect(dry.dryRun).toBe(true);
    expect(dryCounts).toEqual(realCounts);
  });

  it('selects DLQ objects by their start time', async () => {
    const old = await writeFixture(5 * HOUR_MS);
    const now = Date.now();
    expect(await replay(old, { dryRun: true, fromMs: now - HOUR_MS })).toMatchObject({ read: 0, replayed: 0 });
    expect(await replay(old, { dryRun: true, toMs: now - 6 * HOUR_MS })).toMatchObject({ read: 0 });
    const inWindow = await replay(old, { dryRun: true, fromMs: now - 6 * HOUR_MS, toMs: now - 4 * HOUR_MS });
    expect(inWindow).toMatchObject({ read: old.deadLetters, replayed: old.expectArchived.size });
    expect(inWindow.window.from).toBe(new Date(now - 6 * HOUR_MS).toISOString());
  });

  it('counts and names unreadable lines and objects, and replays the rest', async () => {
    const fixture = await writeFixture();
    // A good object with a bad line in the middle, and a gzip object cut short.
    const [first] = (await collect(fixture.dlq.list(''))).filter((o) => !o.key.startsWith('replayed/'));
    const path = join(fixture.dlqDir, first!.key);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    lines.splice(2, 0, '{"shardId":"x"', 'not json at all');
    writeFileSync(path, `${lines.join('\n')}\n`);
    const startMs = Date.now() - HOUR_MS;
    const cutKey = objectKey({ startMs, workerId: 'w', writerId: 'deadbeef', sequence: 0, compression: 'gzip' });
    mkdirSync(dirname(join(fixture.dlqDir, cutKey)), { recursive: true });
    writeFileSync(join(fixture.dlqDir, cutKey), gzipSync(readFileSync(path)).subarray(0, 40));
    // A marker line that is not one: reported, not fatal.
    mkdirSync(join(fixture.dlqDir, 'replayed'), { recursive: true });
    appendFileSync(join(fixture.dlqDir, 'replayed', '0000000000001-cafebabe-000000.ndjson'), '{"objectKey":""}\n');

    const seen: string[] = [];
    const summary = await replay(fixture, { onError: (error) => seen.push(`${error.code} ${error.objectKey}:${error.lineNumber}`) });
    expect(summary.errors.byCode).toEqual({ object_format: 2, object_unreadable: 1, marker_unreadable: 1 });
    expect(seen).toEqual(expect.arrayContaining([`object_format ${first!.key}:3`, `object_format ${first!.key}:4`, `object_unreadable ${cutKey}:1`]));
    expect(summary.errors.details[0]).toMatchObject({ code: 'marker_unreadable', objectKey: 'replayed/0000000000001-cafebabe-000000.ndjson', lineNumber: 1 });
    expect(summary).toMatchObject({ read: fixture.deadLetters, replayed: fixture.expectArchived.size });
    expect(summary.aborted).toBeUndefined();
  });

  it('a crash between the archive write and the marker duplicates at most that batch, and loses nothing', async () => {
    const fixture = await writeFixture();
    const batchSize = 5;
    // The first marker PUT fails for good: the process "dies" after its batch reached the archive.
    const failing = new FaultyObjectStore(fixture.dlq, (_attempt, key) => (key.startsWith('replayed/') ? new ObjectStoreError('rejected', 'AccessDenied', 'simulated crash before the marker') : undefined));
    const crashed = await replay(fixture, { batchSize }, failing);
    expect(crashed.aborted).toMatch(/replay marker .*AccessDenied/);
    expect(crashed.batches).toBe(1);
    const afterCrash = await archivedPositions(fixture);
    expect(afterCrash.length).toBeGreaterThan(0);
    expect(afterCrash.length).toBeLessThanOrEqual(batchSize);

    const rerun = await replay(fixture, { batchSize });
    expect(rerun.aborted).toBeUndefined();
    const positions = await archivedPositions(fixture);
    expect(new Set(positions)).toEqual(new Set(fixture.expectArchived.keys()));
    // Only the crashed batch is there twice.
    expect(positions.length - new Set(positions).size).toBe(afterCrash.length);
    expect(await replay(fixture)).toMatchObject({ replayed: 0, superseded: 0 });
  });
});

describe('dlq replay on S3 (s3rver)', () => {
  const BUCKET = 'cali-replay';
  let emulator: S3Emulator;
  let s3: S3Client;

  beforeAll(async () => {
    emulator = await startS3Emulator({ buckets: [BUCKET] });
    s3 = createS3Client({ region: 'us-east-1', endpoint: emulator.endpoint, credentials: S3RVER_CREDENTIALS, maxAttempts: 1 });
  });

  afterAll(async () => {
    s3?.destroy();
    await emulator?.stop();
  });

  it('archives under the original positions once, markers and all in the bucket', async () => {
    const fixture = await writeFixture(2 * HOUR_MS, { dlq: new S3ObjectStore(s3, BUCKET, 'dlq/'), archive: new S3ObjectStore(s3, BUCKET, 'archive/') });
    const first = await replay(fixture);
    expect(first).toMatchObject({ read: fixture.deadLetters, replayed: fixture.expectArchived.size, errors: { total: 0 } });
    expect((await collect(fixture.dlq.list('replayed/'))).length).toBe(1);
    const second = await replay(fixture);
    expect(second).toMatchObject({ replayed: 0, superseded: 0, errors: { total: 0 } });
    const positions = await archivedPositions(fixture);
    expect(positions.sort()).toEqual([...fixture.expectArchived.keys()].sort());
  });
});

describe('which sub-records a dead letter stands for', () => {
  const S = SUB_RECORD_STRIDE;
  it.each([
    ['schema_violation', 2, false, { from: 2, to: 3 }],
    ['malformed_json', S + 4, true, { from: S + 4, to: S + 5 }],
    ['invalid_utf8', 3, false, { from: 3, to: 4 }],
    ['not_json_object', 0, false, { from: 0, to: S }],
    ['not_json_object', 2, false, { from: 2, to: 3 }],
    ['gzip_corrupt', 2 * S, true, { from: 2 * S, to: 3 * S }],
    ['payload_too_large', 0, false, { from: 0, to: S }],
    ['payload_too_large', 0, true, { from: 0, to: Number.POSITIVE_INFINITY }],
    ['empty_payload', S, true, { from: S, to: 2 * S }],
    ['kpl_checksum_mismatch', 0, true, { from: 0, to: Number.POSITIVE_INFINITY }],
    ['worker_crash', 0, false, { from: 0, to: Number.POSITIVE_INFINITY }],
    ['some_future_code', 7, false, { from: 7, to: 8 }],
  ] as const)('%s at %d (KPL %s)', (code, sub, kpl, range) => {
    expect(coveredSubSequences(code, sub, kpl)).toEqual(range);
  });
});

describe('replay time options', () => {
  const now = Date.parse('2026-11-29T12:00:00Z');
  it.each([
    ['1h', now - HOUR_MS],
    ['30m', now - 30 * 60_000],
    ['90s', now - 90_000],
    ['2d', now - 48 * HOUR_MS],
    ['1.5h', now - 1.5 * HOUR_MS],
    ['2026-11-28T10:00:00Z', Date.parse('2026-11-28T10:00:00Z')],
    ['2026-11-28T10:00:00.500+02:00', Date.parse('2026-11-28T08:00:00.500Z')],
    ['2026-11-28', Date.parse('2026-11-28T00:00:00Z')],
  ])('%s', (text, expected) => {
    expect(parseTimeSpec(text, now)).toBe(expected);
  });

  it.each(['1', 'yesterday', '1y', '-1h', '2026-13-01', ''])('refuses "%s"', (text) => {
    expect(() => parseTimeSpec(text, now)).toThrow(/expected an ISO time/);
  });
});

describe('cali dlq replay', () => {
  const env = (extra: Record<string, string | undefined>): NodeJS.ProcessEnv => cliEnv({ CALI_DLQ_URI: undefined, CALI_ARCHIVE_URI: undefined, AWS_REGION: undefined, ...extra });

  it.each([
    [{ CALI_ARCHIVE_URI: '/tmp/a' }, /^cali: CALI_DLQ_URI is not set: set it to s3:\/\/bucket\/prefix\/ or a local directory/],
    [{ CALI_DLQ_URI: '/tmp/d' }, /^cali: CALI_ARCHIVE_URI is not set: /],
    [{ CALI_DLQ_URI: 'ftp://x/y', CALI_ARCHIVE_URI: '/tmp/a' }, /^cali: CALI_DLQ_URI uses the unsupported scheme "ftp:\/\/"/],
    [{ CALI_DLQ_URI: 's3://dlq-bucket/d/', CALI_ARCHIVE_URI: '/tmp/a' }, /^cali: AWS_REGION is not set/],
    [{ CALI_DLQ_URI: '/tmp/d', CALI_ARCHIVE_URI: '/tmp/a', CALI_WORKER_THREADS: 'lots' }, /^cali: CALI_WORKER_THREADS is "lots"/],
  ])('stops on a bad environment with one line naming the variable (%o)', (extra, message) => {
    const result = runCli(['dlq', 'replay'], env(extra));
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('refuses a bad time and an empty window', () => {
    const ok = env({ CALI_DLQ_URI: join(scratch, 'cli-none'), CALI_ARCHIVE_URI: join(scratch, 'cli-none-a') });
    const bad = runCli(['dlq', 'replay', '--from', 'yesterday'], ok);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--from <time>.*expected an ISO time/);
    const empty = runCli(['dlq', 'replay', '--from', '1h', '--to', '2h'], ok);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/^cali: --from \(.*\) is not before --to/);
  });

  it('replays a DLQ directory: --dry-run --json writes nothing, then a run archives, then a rerun skips', async () => {
    const fixture = await writeFixture();
    const cliEnvironment = env({ CALI_DLQ_URI: fixture.dlqDir, CALI_ARCHIVE_URI: fixture.archiveDir, CALI_WORKER_THREADS: '1' });
    const before = tree(fixture.dlqDir);

    const dry = runCli(['dlq', 'replay', '--dry-run', '--json', '--from', '1d'], cliEnvironment);
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    const drySummary = JSON.parse(dry.stdout) as ReplaySummary;
    expect(drySummary).toMatchObject({ dryRun: true, read: fixture.deadLetters, replayed: fixture.expectArchived.size, skipped: 1, errors: { total: 0 } });
    expect(tree(fixture.dlqDir)).toEqual(before);
    expect(tree(fixture.archiveDir)).toEqual({});

    const run = runCli(['dlq', 'replay'], cliEnvironment);
    expect(run.status).toBe(0);
    const reasons = Object.entries(drySummary.stillInvalid.byReason).sort(([a], [b]) => (a < b ? -1 : 1)).map(([code, n]) => `${code} ${n}`).join(', ');
    expect(run.stdout).toBe(
      `dlq replay: read ${fixture.deadLetters} | replayed ${fixture.expectArchived.size} to the archive | still invalid ${drySummary.stillInvalid.total} (${reasons}) | skipped 1 already replayed | errors 0\n`,
    );
    expect(new Set(await archivedPositions(fixture))).toEqual(new Set(fixture.expectArchived.keys()));

    const again = runCli(['dlq', 'replay', '--json'], cliEnvironment);
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ replayed: 0, superseded: 0 });

    // A bad line: named on stderr, counted, exit status 1, the replay still completes.
    const [object] = (await collect(fixture.dlq.list(''))).filter((o) => !o.key.startsWith('replayed/'));
    appendFileSync(join(fixture.dlqDir, object!.key), 'garbage\n');
    const withBadLine = runCli(['dlq', 'replay'], cliEnvironment);
    expect(withBadLine.status).toBe(1);
    expect(withBadLine.stderr).toMatch(new RegExp(`^cali: dlq replay: ${object!.key.replaceAll('/', '\\/')} line \\d+: object_format: not a dead letter`));
    expect(withBadLine.stdout).toMatch(/\| errors 1\n$/);
  });
});
