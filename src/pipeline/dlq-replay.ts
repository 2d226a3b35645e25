/**
 * `cali dlq replay`: after a schema or configuration fix, dead letters are
 * read back from the DLQ (objects started within a time window), their
 * ORIGINAL Kinesis record bytes run through the current worker processing,
 * and:
 *
 * - records that pass now go to the archive under their original position
 *   (`_cali` carries the dead letter's shardId, sequenceNumber and
 *   subSequenceNumber: records are packed per shard with their original
 *   sequence numbers, exactly as the consumer packs them);
 * - records that still fail with the SAME reason stay where they are;
 *   records that fail with a NEW reason are written to the DLQ again as new
 *   dead letters, and the old dead letter is marked superseded;
 * - dead letters that were replayed (archived or superseded) get a replay
 *   marker (./sinks/dlq/replay-marker.ts) and are skipped by later replays.
 *
 * Order of writes, per batch of at most 1000 dead letters: the archive and
 * the new dead letters first (flushed: durable), the marker last. A crash
 * between the two leaves no marker, so the next replay does that batch again:
 * at most one batch duplicated in the archive (and its new dead letters in
 * the DLQ), never a record lost. Without a marker nothing is skipped.
 *
 * Which records a dead letter stands for: the worker numbers the sub-records
 * of one Kinesis record (newline-joined JSON lines, KPL sub-records; see
 * src/workers/decode/index.ts). A line-level reason (schema_violation,
 * malformed_json, invalid_utf8, ...) names one sub-record; a failure of a
 * whole decoding unit (gzip_corrupt, empty_payload, not_json_object at the
 * unit's first number, payload_too_large) stands for every line of that unit,
 * and worker_crash or a broken KPL aggregate for the whole record: the
 * original run produced nothing else for them, and the fixed run may produce
 * several lines. Only the sub-records a dead letter stands for are archived,
 * never its siblings (they were archived, or have dead letters of their own).
 *
 * Incident candidates of replayed records are dropped: they are old events,
 * and alerting on them now would page for yesterday's storm.
 */
import { randomBytes } from 'node:crypto';
import type { StreamRecord } from '../lease/record-processor.js';
import { SUB_RECORD_STRIDE } from '../workers/decode/index.js';
import { isKplAggregate } from '../workers/decode/kpl.js';
import type { BatchResult, InvalidRecord } from '../workers/protocol.js';
import { deadLettersOf, type BatchRunner } from './record-pipeline.js';
import { parseArchivedRecord } from './sinks/archive/archived-record.js';
import type { ArchiveChunk } from './sinks/archive/sink.js';
import type { DeadLetter, DeadLetterReason } from './sinks/dlq/dead-letter.js';
import { scanDeadLetters, type DeadLetterEntry } from './sinks/dlq/reader.js';
import { ObjectFormatError } from './sinks/object-reader.js';
import { encodeReplayMarkers, replayMarkerKey, scanReplayMarkers, type ReplayMarkerLine } from './sinks/dlq/replay-marker.js';
import { DEFAULT_RETRY_POLICY, backoffDelayMs } from './sinks/retry-policy.js';
import { isProgrammerError, toObjectStoreError, type ObjectStore } from './sinks/object-store/object-store.js';
import type { Sink } from './sinks/sink.js';

/** Dead letters per replay batch: one pool run per shard in it, one archive flush, one marker object. */
export const MAX_REPLAY_BATCH = 1000;
/** Error details kept in the summary; the count goes on. */
export const MAX_ERROR_DETAILS = 100;

export interface DlqReplaySinks {
  readonly archive: Sink<ArchiveChunk>;
  readonly dlq: Sink<DeadLetter>;
}

export interface DlqReplayDependencies {
  /** The DLQ destination: read for dead letters and markers, written for markers. */
  readonly store: ObjectStore;
  /** The current worker processing (the WorkerPool in production). */
  readonly runner: Pick<BatchRunner, 'run'>;
  /** Where replayed records and new dead letters go; absent for a dry run. */
  readonly sinks?: DlqReplaySinks | undefined;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface DlqReplayOptions {
  /** Objects started at or after this instant (epoch ms). */
  readonly fromMs?: number | undefined;
  /** Objects started before this instant; never later than the replay's own start. */
  readonly toMs?: number | undefined;
  /** Process and count, write nothing. */
  readonly dryRun: boolean;
  readonly batchSize?: number;
  /** Told about each error as it happens (the CLI prints them). */
  readonly onError?: (error: ReplayErrorDetail) => void;
}

export type ReplayErrorCode =
  /** A DLQ line that is not a dead letter. */
  | 'object_format'
  /** A DLQ object whose bytes could not be read to the end. */
  | 'object_unreadable'
  /** A replay marker line or object that could not be read: its dead letters may be replayed again. */
  | 'marker_unreadable'
  /** Processing the record gave nothing at the dead letter's sub-sequence number (decoding changed its numbering). */
  | 'position_not_found'
  /** Two dead letters with one position but different bytes. */
  | 'conflicting_record';

export interface ReplayErrorDetail {
  readonly code: ReplayErrorCode;
  readonly objectKey: string;
  readonly lineNumber: number;
  readonly message: string;
}

export interface ReplaySummary {
  readonly dryRun: boolean;
  /** Object start times considered: [from, to). */
  readonly window: { readonly from: string | null; readonly to: string };
  /** Dead letters read in the window. */
  read: number;
  /** Records written to the archive (would be, in a dry run). */
  replayed: number;
  /** Records that still fail, by their current reason code. */
  readonly stillInvalid: { total: number; readonly byReason: Record<string, number>; /** kept as they were (same reason) */ unchanged: number; /** written again as new dead letters */ rewritten: number };
  /** Old dead letters marked superseded by new ones. */
  superseded: number;
  /** Dead letters skipped: replayed by an earlier run (marker), or every record of theirs already archived by one. */
  skipped: number;
  readonly errors: { total: number; readonly byCode: Partial<Record<ReplayErrorCode, number>>; readonly details: ReplayErrorDetail[] };
  batches: number;
  /** Set when a write failed for good (the destination is down): the replay stopped there; a rerun resumes. */
  aborted?: string;
}

interface Range {
  readonly from: number;
  readonly to: number;
}

const WHOLE_RECORD: Range = { from: 0, to: Number.POSITIVE_INFINITY };

/** The sub-records of its Kinesis record that a failure at `subSequenceNumber` with `code` stands for: [from, to). */
export function coveredSubSequences(code: string, subSequenceNumber: number, kplAggregate: boolean): Range {
  const unitStart = subSequenceNumber - (subSequenceNumber % SUB_RECORD_STRIDE);
  const unit: Range = { from: unitStart, to: unitStart + SUB_RECORD_STRIDE };
  switch (code) {
    case 'worker_crash':
    case 'kpl_checksum_mismatch':
    case 'kpl_malformed':
      return WHOLE_RECORD;
    case 'payload_too_large':
    case 'empty_payload':
      // At 0 of an aggregate: the aggregate as a whole (over maxPayloadBytes, no sub-records) or its
      // first sub-record; the whole is the safe reading (nothing lost; see docs/operations.md).
      return kplAggregate && subSequenceNumber === 0 ? WHOLE_RECORD : unit;
    case 'gzip_corrupt':
      return unit;
    case 'not_json_object':
      // At a unit's first number the unit did not start with "{" and was failed whole; later ones are single lines.
      return subSequenceNumber === unitStart ? unit : { from: subSequenceNumber, to: subSequenceNumber + 1 };
    default:
      return { from: subSequenceNumber, to: subSequenceNumber + 1 };
  }
}

const within = (range: Range, subSequenceNumber: number): boolean => subSequenceNumber >= range.from && subSequenceNumber < range.to;

/** Same reason: same code and same typia paths. Messages are left out: V8 words JSON errors differently across versions. */
function sameReason(old: DeadLetterReason, current: InvalidRecord): boolean {
  if (old.code !== current.code) return false;
  const a = old.errors ?? [];
  const b = current.errors ?? [];
  return a.length === b.length && a.every((issue, i) => issue.path === b[i]!.path && issue.expected === b[i]!.expected);
}

const positionKey = (shardId: string, sequenceNumber: string, subSequenceNumber: number): string => `${shardId}\n${sequenceNumber}\n${subSequenceNumber}`;
const lineKey = (objectKey: string, lineNumber: number): string => `${objectKey}\n${lineNumber}`;

/** What earlier replays did, from their markers. */
interface ReplayState {
  /** DLQ lines replayed or superseded. */
  readonly done: Set<string>;
  /** Positions archived by a replay. */
  readonly archived: Set<string>;
}

interface ArchiveLine {
  readonly subSequenceNumber: number;
  readonly bytes: Buffer;
}

interface PendingInvalid {
  readonly entry: InvalidRecord;
  readonly deadLetter: DeadLetter;
}

interface ShardGroup {
  readonly shardId: string;
  readonly records: StreamRecord[];
  readonly indexBySequence: Map<string, number>;
  readonly lines: Map<number, ArchiveLine[]>;
  readonly invalid: Map<number, PendingInvalid[]>;
}

const NEWLINE = 0x0a;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class DlqReplay {
  private readonly store: ObjectStore;
  private readonly runner: Pick<BatchRunner, 'run'>;
  private readonly sinks: DlqReplaySinks | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly runId = randomBytes(4).toString('hex');
  private readonly summary: ReplaySummary;
  private readonly state: ReplayState = { done: new Set(), archived: new Set() };
  private readonly startedMs: number;
  private readonly fromMs: number | undefined;
  private readonly toMs: number;

  constructor(dependencies: DlqReplayDependencies, private readonly options: DlqReplayOptions) {
    if (!options.dryRun && dependencies.sinks === undefined) throw new TypeError('a replay that writes needs the archive and DLQ sinks');
    const batchSize = options.batchSize ?? MAX_REPLAY_BATCH;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_REPLAY_BATCH) throw new RangeError(`batchSize must be 1..${MAX_REPLAY_BATCH}, got ${batchSize}`);
    this.store = dependencies.store;
    this.runner = dependencies.runner;
    this.sinks = options.dryRun ? undefined : dependencies.sinks;
    this.now = dependencies.now ?? Date.now;
    this.random = dependencies.random ?? Math.random;
    this.startedMs = this.now();
    this.fromMs = options.fromMs;
    // Objects this replay writes start after it did: never read back in the same run.
    this.toMs = Math.min(options.toMs ?? Number.POSITIVE_INFINITY, this.startedMs);
    this.summary = {
      dryRun: options.dryRun,
      window: { from: this.fromMs === undefined ? null : new Date(this.fromMs).toISOString(), to: new Date(this.toMs).toISOString() },
      read: 0,
      replayed: 0,
      stillInvalid: { total: 0, byReason: {}, unchanged: 0, rewritten: 0 },
      superseded: 0,
      skipped: 0,
      errors: { total: 0, byCode: {}, details: [] },
      batches: 0,
    };
  }

  /** Runs the replay to the end of the window; resolves with the summary (`aborted` set if a write failed for good). */
  async run(): Promise<ReplaySummary> {
    const batchSize = this.options.batchSize ?? MAX_REPLAY_BATCH;
    try {
      await this.loadState();
      let batch: DeadLetterEntry[] = [];
      for await (const scanned of scanDeadLetters(this.store, { fromMs: this.fromMs, toMs: this.toMs })) {
        if (scanned.unreadable !== undefined) {
          const { objectKey, lineNumber, code, error } = scanned.unreadable;
          const message =
            error instanceof ObjectFormatError
              ? `not a dead letter (${error.errors.slice(0, 3).map((issue) => `${issue.path}: expected ${issue.expected}`).join('; ')}); left in the DLQ`
              : `cannot read the object: ${error.message}`;
          this.error({ code, objectKey, lineNumber, message });
          continue;
        }
        this.summary.read++;
        if (this.state.done.has(lineKey(scanned.objectKey, scanned.lineNumber))) {
          this.summary.skipped++;
          continue;
        }
        batch.push(scanned);
        if (batch.length >= batchSize) {
          await this.replayBatch(batch);
          batch = [];
        }
      }
      if (batch.length > 0) await this.replayBatch(batch);
    } catch (error) {
      // A bug is a bug; a destination that is down stops the replay with what it did so far (markers say what).
      if (isProgrammerError(error)) throw error;
      this.summary.aborted = describeError(error);
    }
    return this.summary;
  }

  private error(detail: ReplayErrorDetail): void {
    const errors = this.summary.errors;
    errors.total++;
    errors.byCode[detail.code] = (errors.byCode[detail.code] ?? 0) + 1;
    if (errors.details.length < MAX_ERROR_DETAILS) errors.details.push(detail);
    this.options.onError?.(detail);
  }

  private async loadState(): Promise<void> {
    for await (const scanned of scanReplayMarkers(this.store)) {
      if (scanned.unreadable !== undefined) {
        this.error({ code: 'marker_unreadable', ...scanned.unreadable });
        continue;
      }
      const marker = scanned.marker;
      this.state.done.add(lineKey(marker.objectKey, marker.lineNumber));
      for (const sub of marker.archivedSubSequenceNumbers) this.state.archived.add(positionKey(marker.shardId, marker.sequenceNumber, sub));
    }
  }

  private async replayBatch(entries: readonly DeadLetterEntry[]): Promise<void> {
    const batchNumber = this.summary.batches++;
    const nowMs = this.now();
    const groups = new Map<string, ShardGroup>();
    // Each dead letter's record in its shard's pool run; one record per position, however many dead letters name it.
    const placed = entries.map((entry) => this.place(groups, entry));
    await Promise.all([...groups.values()].map(async (group) => this.collect(group, await this.runner.run(group.shardId, group.records), nowMs)));

    const archiveLines: Buffer[] = [];
    const newDeadLetters: DeadLetter[] = [];
    const rewritten = new Set<PendingInvalid>();
    const markers: ReplayMarkerLine[] = [];
    const replayedAt = new Date(nowMs).toISOString();
    for (const [i, entry] of entries.entries()) {
      const where = placed[i]!;
      const { objectKey, lineNumber, deadLetter } = entry;
      if (where.group === undefined) {
        this.error({ code: 'conflicting_record', objectKey, lineNumber, message: where.message });
        continue;
      }
      const { group, recordIndex } = where;
      const kpl = isKplAggregate(deadLetter.data);
      const range = coveredSubSequences(deadLetter.reason.code, deadLetter.subSequenceNumber, kpl);
      const lines = (group.lines.get(recordIndex) ?? []).filter((line) => within(range, line.subSequenceNumber));
      const invalid = (group.invalid.get(recordIndex) ?? []).filter(
        ({ entry: current }) =>
          within(range, current.subSequenceNumber) || within(coveredSubSequences(current.code, current.subSequenceNumber, kpl), deadLetter.subSequenceNumber),
      );
      if (lines.length === 0 && invalid.length === 0) {
        this.error({
          code: 'position_not_found', objectKey, lineNumber,
          message: `processing ${deadLetter.shardId}/${deadLetter.sequenceNumber} gave no sub-record at ${deadLetter.subSequenceNumber}; left in the DLQ`,
        });
        continue;
      }
      const only = invalid[0];
      if (lines.length === 0 && invalid.length === 1 && only!.entry.subSequenceNumber === deadLetter.subSequenceNumber && sameReason(deadLetter.reason, only!.entry)) {
        // Still failing for the recorded reason: the dead letter stays as it is, nothing written.
        this.countInvalid(only!.entry.code);
        this.summary.stillInvalid.unchanged++;
        continue;
      }
      let archivedNow = 0;
      for (const line of lines) {
        const key = positionKey(deadLetter.shardId, deadLetter.sequenceNumber, line.subSequenceNumber);
        // Archived by an earlier replay (a duplicate dead letter) or earlier in this one: once is enough.
        if (this.state.archived.has(key)) continue;
        this.state.archived.add(key);
        archiveLines.push(line.bytes);
        archivedNow++;
      }
      for (const pending of invalid) {
        // Two old dead letters of one record may now share one failure: written once.
        if (rewritten.has(pending)) continue;
        rewritten.add(pending);
        newDeadLetters.push(pending.deadLetter);
        this.countInvalid(pending.entry.code);
        this.summary.stillInvalid.rewritten++;
      }
      this.summary.replayed += archivedNow;
      if (invalid.length > 0) this.summary.superseded++;
      else if (archivedNow === 0) this.summary.skipped++;
      this.state.done.add(lineKey(objectKey, lineNumber));
      markers.push({
        objectKey, lineNumber,
        shardId: deadLetter.shardId, sequenceNumber: deadLetter.sequenceNumber, subSequenceNumber: deadLetter.subSequenceNumber,
        outcome: invalid.length > 0 ? 'superseded' : 'archived',
        archivedSubSequenceNumbers: lines.map((line) => line.subSequenceNumber),
        replayedAt,
      });
    }
    await this.commit(batchNumber, archiveLines, newDeadLetters, markers);
  }

  private countInvalid(code: string): void {
    const stillInvalid = this.summary.stillInvalid;
    stillInvalid.total++;
    stillInvalid.byReason[code] = (stillInvalid.byReason[code] ?? 0) + 1;
  }

  private place(groups: Map<string, ShardGroup>, entry: DeadLetterEntry): { group: ShardGroup; recordIndex: number } | { group?: undefined; message: string } {
    const { shardId, sequenceNumber, data } = entry.deadLetter;
    let group = groups.get(shardId);
    if (group === undefined) {
      group = { shardId, records: [], indexBySequence: new Map(), lines: new Map(), invalid: new Map() };
      groups.set(shardId, group);
    }
    const existing = group.indexBySequence.get(sequenceNumber);
    if (existing === undefined) {
      group.indexBySequence.set(sequenceNumber, group.records.length);
      // No arrival time in a dead letter: the archive line says `"arrivalMs":null` (unknown).
      group.records.push({ data, sequenceNumber, partitionKey: '', approximateArrivalMs: undefined });
      return { group, recordIndex: group.records.length - 1 };
    }
    if (!Buffer.from(group.records[existing]!.data).equals(data)) {
      return { message: `${shardId}/${sequenceNumber} has other bytes in another dead letter of this batch; left in the DLQ` };
    }
    return { group, recordIndex: existing };
  }

  /** Sorts a pool result by record: archive lines by the sequence number in their `_cali`, invalid ones by index. */
  private collect(group: ShardGroup, result: BatchResult, nowMs: number): void {
    const archive = Buffer.from(result.archive.buffer, result.archive.byteOffset, result.archive.byteLength);
    for (let start = 0; start < archive.byteLength; ) {
      let end = archive.indexOf(NEWLINE, start);
      if (end === -1) end = archive.byteLength;
      const bytes = archive.subarray(start, end);
      start = end + 1;
      if (bytes.byteLength === 0) continue;
      const parsed = parseArchivedRecord(bytes.toString('utf8'));
      // The worker wrote this line; one it cannot read back is a bug, not input.
      if (!parsed.success) throw new TypeError(`the worker wrote an archive line without a valid _cali: ${parsed.errors.map((e) => e.path).join(', ')}`);
      const { sequenceNumber, subSequenceNumber } = parsed.data._cali;
      const recordIndex = group.indexBySequence.get(sequenceNumber);
      if (recordIndex === undefined) throw new TypeError(`the worker wrote an archive line for ${sequenceNumber}, not in its batch`);
      const list = group.lines.get(recordIndex) ?? [];
      list.push({ subSequenceNumber, bytes });
      group.lines.set(recordIndex, list);
    }
    const deadLetters = deadLettersOf(group.shardId, group.records, result, nowMs);
    for (const [i, entry] of result.invalid.entries()) {
      const list = group.invalid.get(entry.recordIndex) ?? [];
      list.push({ entry, deadLetter: deadLetters[i]! });
      group.invalid.set(entry.recordIndex, list);
    }
  }

  /** Archive and new dead letters durable first, then the marker: a crash in between repeats this batch, loses nothing. */
  private async commit(batchNumber: number, archiveLines: readonly Buffer[], deadLetters: readonly DeadLetter[], markers: readonly ReplayMarkerLine[]): Promise<void> {
    const sinks = this.sinks;
    if (sinks === undefined) return;
    const archived = archiveLines.length === 0 ? undefined : Buffer.concat(archiveLines.flatMap((line) => [line, NEWLINE_BYTES]));
    await Promise.all([
      archived === undefined ? undefined : writeDurably(sinks.archive, [{ bytes: archived, lines: archiveLines.length }]),
      deadLetters.length === 0 ? undefined : writeDurably(sinks.dlq, deadLetters),
    ]);
    if (markers.length > 0) await this.putMarkers(replayMarkerKey(this.startedMs, this.runId, batchNumber), encodeReplayMarkers(markers));
  }

  private async putMarkers(key: string, body: Buffer): Promise<void> {
    const policy = DEFAULT_RETRY_POLICY;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.put(key, body, { contentType: 'application/x-ndjson' });
        return;
      } catch (error) {
        const failure = toObjectStoreError(error);
        if (!failure.retriable || attempt >= policy.maxAttempts) {
          throw new Error(`could not write replay marker ${this.store.location}${this.store.location.endsWith('/') ? '' : '/'}${key} (${failure.reason}): ${failure.message}`, { cause: error });
        }
        await sleep(backoffDelayMs(policy, attempt, this.random));
      }
    }
  }
}

const NEWLINE_BYTES = Buffer.from('\n');

/** Resolves once the items are in written objects: the writer seals its open object now instead of at its age limit. */
async function writeDurably<T>(sink: Sink<T>, items: readonly T[]): Promise<void> {
  await Promise.all([sink.write(items), sink.flush()]);
}

/** One replay; see DlqReplay. */
export function replayDeadLetters(dependencies: DlqReplayDependencies, options: DlqReplayOptions): Promise<ReplaySummary> {
  return new DlqReplay(dependencies, options).run();
}
