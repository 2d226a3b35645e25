/**
 * The per-batch CPU work, run in a worker thread (and on the main thread by
 * the benchmark's single-thread baseline): decode each record into JSON
 * texts, parse, validate with the compiled typia validator, normalise,
 * fingerprint what is at or above the configured level, and emit archive
 * lines with `_cali` appended, invalid records with typed reasons, and
 * incident candidates aggregated per fingerprint.
 *
 * Hot-path rules: no exceptions except JSON.parse on malformed input (a try
 * block is free when nothing throws), no per-record closures or result
 * objects (the decoder calls this module's sink directly), and archive lines
 * are assembled from bytes: the record's own bytes copied from the batch, the
 * `_cali` suffix from precomputed pieces and digits (see ArchiveLines).
 */
import { isAscii } from 'node:buffer';
import type { LogRecord } from '../schema/log-record.js';
import { decodeAsciiRecordToSink, decodeRecordToSink, resolveDecodeOptions, type DecodeFailureReason, type DecodeSink, type ResolvedDecodeOptions } from './decode/index.js';
import { levelClass, type Fingerprint, type Fingerprinter, type LevelClass } from './fingerprint/fingerprint.js';
import {
  MAX_PODS_PER_CANDIDATE,
  MAX_SAMPLE_FRAME_LINES,
  type BatchResult,
  type BatchStats,
  type BatchTask,
  type IncidentCandidate,
  type InvalidRecord,
  type WorkerSettings,
} from './protocol.js';
import { epochMsOf } from './timestamp.js';
import { validateLogRecord } from './validate-record.js';

const LEVEL_RANK: Readonly<Record<LevelClass, number>> = { none: 0, other: 1, debug: 1, info: 2, warn: 3, error: 4, fatal: 5 };
const MAX_ERRORS_PER_RECORD = 10;
const utf8 = new TextDecoder();
const encoder = new TextEncoder();
const CLOSE_BRACE = 0x7d;

export interface BatchProcessor {
  (task: BatchTask): BatchResult;
}

/** A valid record after normalisation: what the archive line and the incident candidate need. */
export interface NormalisedRecord {
  readonly record: LogRecord;
  /** Epoch milliseconds (NaN if the timestamp is one the validator accepts but Date.parse does not). */
  readonly timestampMs: number;
  readonly level: LevelClass;
}

/**
 * Validation and normalisation of one parsed JSON value: the typia validator,
 * then the timestamp as epoch milliseconds and the level as a class. Exported
 * for the benchmark, which prices these steps apart from the archive lines.
 */
export const normalise = {
  validate: validateLogRecord,
  timestampMs: epochMsOf,
  level: levelClass,
} as const;

/** A batch's decode sink: told which record comes next before its sub-records. */
export interface BatchSink extends DecodeSink {
  startRecord(index: number): void;
}

/**
 * Records per ASCII check and decode: one native call clears a run of
 * records and one more turns the run into a string, which each record then
 * takes a slice of (a decode per record costs about a fifth of JSON.parse in
 * call overhead). A run with a non-ASCII byte is decoded record by record.
 */
const ASCII_RUN = 32;

/** Decodes every record of a packed batch into `sink`, in order. */
export function decodeBatch(task: BatchTask, sink: BatchSink, options: ResolvedDecodeOptions): void {
  const bytes = new Uint8Array(task.buffer);
  // A Buffer view for its latin1 decoding only: its subarray is slower than a Uint8Array's.
  const buffer = Buffer.from(task.buffer);
  const { offsets, count } = task;
  // Records below `asciiUntil` are ASCII, and `runText` is their text from byte `runStart` on; `runSingleLine`: it has no newline.
  let asciiUntil = 0;
  let runText = '';
  let runStart = 0;
  let runSingleLine = false;
  for (let i = 0; i < count; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    if (i % ASCII_RUN === 0) {
      const last = Math.min(i + ASCII_RUN, count);
      asciiUntil = isAscii(bytes.subarray(start, offsets[last]!)) ? last : i;
      if (asciiUntil > i) {
        runText = buffer.toString('latin1', start, offsets[last]!);
        runStart = start;
        runSingleLine = !runText.includes('\n');
      }
    }
    sink.startRecord(i);
    if (i < asciiUntil) decodeAsciiRecordToSink(bytes, start, end, runText.slice(start - runStart, end - runStart), sink, options, runSingleLine);
    else decodeRecordToSink(bytes.subarray(start, end), sink, options);
  }
}

/** The `_cali` pieces that never change: `"}}\n` closers per level class and the keys in between. */
const piece = (text: string): Uint8Array => encoder.encode(text);
const SUB_SEQUENCE_KEY = piece('","subSequenceNumber":');
const FINGERPRINT_KEY = piece(',"fingerprint":');
const NULL = piece('null');
const ARRIVAL_KEY = piece(',"arrivalMs":');
const TIMESTAMP_KEY = piece(',"timestampMs":');
const LEVEL_TAIL: Readonly<Record<LevelClass, Uint8Array>> = {
  none: piece(',"level":"none"}}\n'),
  other: piece(',"level":"other"}}\n'),
  debug: piece(',"level":"debug"}}\n'),
  info: piece(',"level":"info"}}\n'),
  warn: piece(',"level":"warn"}}\n'),
  error: piece(',"level":"error"}}\n'),
  fatal: piece(',"level":"fatal"}}\n'),
};
/** Room for one line's suffix beyond its shard and sequence number (numbers, fingerprint, level), so that buffers rarely grow. */
const SUFFIX_RESERVE = 160;

/**
 * Archive lines assembled in one buffer per batch (a released one when the
 * task brings it), which then moves to the main thread as it is (the lines
 * are a view of its start: no copy to an exact size). Most of a line is the record's own bytes, copied from the
 * batch, which is what the old text path re-encoded: the record's text is
 * valid UTF-8 that decoding and encoding give back byte for byte.
 */
class ArchiveLines {
  bytes: Uint8Array;
  length = 0;

  constructor(capacity: number, reuse: ArrayBuffer | undefined) {
    this.bytes = reuse !== undefined && reuse.byteLength >= capacity ? new Uint8Array(reuse) : new Uint8Array(capacity);
  }

  /** Makes room for `more` bytes. */
  reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(2 * this.bytes.length, this.length + more));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  copy(source: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.bytes.set(source.subarray(start, end), this.length);
    this.length += end - start;
  }

  piece(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** A JSON number as JavaScript prints it (`${n}`), or null where JSON has no number (NaN, infinities). */
  number(n: number): void {
    if (!Number.isSafeInteger(n)) {
      if (Number.isFinite(n)) this.ascii(String(n));
      else this.piece(NULL);
      return;
    }
    let rest = n;
    let digits = 1;
    if (rest < 0) {
      this.reserve(1);
      this.bytes[this.length++] = 0x2d;
      rest = -rest;
    }
    for (let power = 10; power <= rest; power *= 10) digits++;
    this.reserve(digits);
    let at = this.length + digits;
    do {
      const digit = rest % 10;
      this.bytes[--at] = 0x30 + digit;
      rest = (rest - digit) / 10;
    } while (rest > 0);
    this.length += digits;
  }

  /** Text known to be ASCII (number formatting, hex). */
  ascii(text: string): void {
    this.reserve(text.length);
    for (let i = 0; i < text.length; i++) this.bytes[this.length++] = text.charCodeAt(i);
  }

  /** Text of any kind (a fingerprint is hex; encoding keeps this correct whatever it holds). */
  jsonString(text: string): void {
    const literal = JSON.stringify(text);
    this.reserve(3 * literal.length);
    this.length += encoder.encodeInto(literal, this.bytes.subarray(this.length)).written;
  }

  /** The lines: a view of the buffer's start (the whole buffer moves with it). */
  finish(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/**
 * One batch's run: the decoder hands each sub-record to `text` or `failure`
 * (this is its DecodeSink), with the current record's position set by
 * `process`. One object per batch, no object per record.
 */
class BatchRun implements BatchSink {
  readonly invalid: InvalidRecord[] = [];
  readonly incidents = new Map<string, IncidentCandidate>();
  readonly stats: BatchStats;
  readonly archive: ArchiveLines;
  archiveLines = 0;
  private readonly bytes: Uint8Array;
  /** `,"_cali":{"shardId":…,"sequenceNumber":"` for this batch's shard. */
  private readonly prefix: Uint8Array;
  private recordIndex = 0;
  private sequenceStart = 0;
  private sequenceEnd = 0;
  private arrivalMs = Number.NaN;

  constructor(private readonly task: BatchTask, private readonly fingerprint: Fingerprinter, private readonly minRank: number) {
    this.bytes = new Uint8Array(task.buffer);
    const { offsets, count } = task;
    this.stats = { records: count, subRecords: 0, valid: 0, invalid: 0, fingerprinted: 0, busyMs: 0 };
    this.prefix = encoder.encode(`,"_cali":{"shardId":${JSON.stringify(task.shardId)},"sequenceNumber":"`);
    const payloadBytes = offsets[count]! - offsets[0]!;
    const sequenceBytes = offsets[2 * count + 1]! - offsets[count + 1]!;
    this.archive = new ArchiveLines(payloadBytes + sequenceBytes + count * (this.prefix.length + SUFFIX_RESERVE), task.archiveBuffer);
  }

  process(decodeOptions: ResolvedDecodeOptions): void {
    decodeBatch(this.task, this, decodeOptions);
    this.stats.invalid = this.invalid.length;
  }

  startRecord(index: number): void {
    const { offsets, count, arrivalMs } = this.task;
    this.recordIndex = index;
    this.sequenceStart = offsets[count + 1 + index]!;
    this.sequenceEnd = offsets[count + 2 + index]!;
    this.arrivalMs = arrivalMs[index]!;
  }

  failure(subSequenceNumber: number, code: DecodeFailureReason, message: string): void {
    this.stats.subRecords++;
    this.invalid.push({ recordIndex: this.recordIndex, subSequenceNumber, code, message });
  }

  text(subSequenceNumber: number, text: string, bytes: Uint8Array, start: number, end: number): void {
    this.stats.subRecords++;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      this.invalid.push({ recordIndex: this.recordIndex, subSequenceNumber, code: 'malformed_json', message: (error as Error).message });
      return;
    }
    const checked = normalise.validate(parsed);
    if (!checked.success) {
      this.invalid.push({
        recordIndex: this.recordIndex,
        subSequenceNumber,
        code: 'schema_violation',
        errors: checked.errors.slice(0, MAX_ERRORS_PER_RECORD).map((e) => ({ path: e.path, expected: e.expected })),
      });
      return;
    }
    const record = checked.data;
    const timestampMs = normalise.timestampMs(record.timestamp);
    const level = normalise.level(record.level);
    const fingerprint = LEVEL_RANK[level] >= this.minRank ? this.candidate(record, timestampMs, level, subSequenceNumber) : undefined;
    this.stats.valid++;
    this.appendLine(bytes, start, end, subSequenceNumber, fingerprint, timestampMs, level);
  }

  /** Fingerprints the record and counts it in its incident candidate; returns the fingerprint. */
  private candidate(record: LogRecord, timestampMs: number, level: LevelClass, subSequenceNumber: number): string {
    const fp = this.fingerprint(record);
    this.stats.fingerprinted++;
    const pod = record.kubernetes?.pod_name;
    const existing = this.incidents.get(fp.fingerprint);
    if (existing) {
      existing.count++;
      if (timestampMs < existing.firstSeenMs) existing.firstSeenMs = timestampMs;
      if (timestampMs > existing.lastSeenMs) existing.lastSeenMs = timestampMs;
      if (pod !== undefined && existing.pods.length < MAX_PODS_PER_CANDIDATE && !existing.pods.includes(pod)) existing.pods.push(pod);
    } else {
      const root = fp.exceptions.at(-1);
      const k8s = record.kubernetes;
      const sequenceNumber = utf8.decode(this.bytes.subarray(this.sequenceStart, this.sequenceEnd));
      this.incidents.set(fp.fingerprint, {
        fingerprint: fp.fingerprint,
        kind: fp.kind,
        template: fp.template,
        service: record.service,
        levelClass: level,
        count: 1,
        firstSeenMs: timestampMs,
        lastSeenMs: timestampMs,
        pods: pod === undefined ? [] : [pod],
        sample: { message: record.message, exception: root?.type, sequenceNumber, subSequenceNumber, frames: frameLines(fp.exceptions) },
        kubernetes: k8s === undefined ? undefined : { namespace: k8s.namespace_name, labels: k8s.labels, image: k8s.container_image },
      });
    }
    return fp.fingerprint;
  }

  /**
   * The record's own bytes up to its closing brace, then
   * `,"_cali":{"shardId":…,"sequenceNumber":"…","subSequenceNumber":…,"fingerprint":…,"arrivalMs":…,"timestampMs":…,"level":"…"}}\n`.
   * The record validated as an object, so its last `}` closes it (a `}` byte
   * is never part of a multi-byte UTF-8 character).
   */
  private appendLine(bytes: Uint8Array, start: number, end: number, subSequenceNumber: number, fingerprint: string | undefined, timestampMs: number, level: LevelClass): void {
    let close = end - 1;
    while (bytes[close] !== CLOSE_BRACE) close--;
    const archive = this.archive;
    archive.copy(bytes, start, close);
    archive.piece(this.prefix);
    archive.copy(this.bytes, this.sequenceStart, this.sequenceEnd);
    archive.piece(SUB_SEQUENCE_KEY);
    archive.number(subSequenceNumber);
    archive.piece(FINGERPRINT_KEY);
    if (fingerprint === undefined) archive.piece(NULL);
    else archive.jsonString(fingerprint);
    archive.piece(ARRIVAL_KEY);
    archive.number(this.arrivalMs);
    archive.piece(TIMESTAMP_KEY);
    archive.number(timestampMs);
    archive.piece(LEVEL_TAIL[level]);
    this.archiveLines++;
  }
}

/** Only for a fingerprint's first occurrence in a batch: the chain as an operator reads it in an alert. */
function frameLines(exceptions: Fingerprint['exceptions']): string[] | undefined {
  if (exceptions.length === 0) return undefined;
  const lines: string[] = [];
  for (const [i, exception] of exceptions.entries()) {
    lines.push(i === 0 ? exception.type || '(exception)' : `Caused by: ${exception.type || '(exception)'}`);
    for (const frame of exception.frames) lines.push(`    at ${frame}`);
    if (lines.length >= MAX_SAMPLE_FRAME_LINES) break;
  }
  return lines.slice(0, MAX_SAMPLE_FRAME_LINES);
}

export function compileBatchProcessor(settings: WorkerSettings, fingerprint: Fingerprinter): BatchProcessor {
  // 'off': a rank no level reaches.
  const minRank = settings.fingerprintMinLevel === 'off' ? Number.POSITIVE_INFINITY : LEVEL_RANK[settings.fingerprintMinLevel];
  // Checked once here: the sub-sequence numbering relies on these bounds.
  const decodeOptions = resolveDecodeOptions({ maxDecodedBytes: settings.maxDecodedBytes });

  return (task) => {
    const startedMs = performance.now();
    const run = new BatchRun(task, fingerprint, minRank);
    run.process(decodeOptions);
    run.stats.busyMs = performance.now() - startedMs;
    return { archive: run.archive.finish(), archiveLines: run.archiveLines, invalid: run.invalid, incidents: [...run.incidents.values()], stats: run.stats };
  };
}
