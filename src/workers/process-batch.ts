/**
 * The per-batch CPU work, run in a worker thread (and on the main thread by
 * the benchmark's single-thread baseline): decode each record into JSON
 * texts, parse, validate with the compiled typia validator, normalise,
 * fingerprint what is at or above the configured level, and emit archive
 * lines with `_cali` appended, invalid records with typed reasons, and
 * incident candidates aggregated per fingerprint.
 *
 * Hot-path rules: no exceptions except JSON.parse on malformed input (a try
 * block is free when nothing throws), no per-record closures, archive lines
 * are encoded one by one into one buffer per batch (see Utf8Lines).
 */
import type { LogRecord } from '../schema/log-record.js';
import { decodeRecord, resolveDecodeOptions, type DecodedSubRecord } from './decode/index.js';
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
import { validateLogRecord } from './validate-record.js';

const LEVEL_RANK: Readonly<Record<LevelClass, number>> = { none: 0, other: 1, debug: 1, info: 2, warn: 3, error: 4, fatal: 5 };
const MAX_ERRORS_PER_RECORD = 10;
const utf8 = new TextDecoder();
const encoder = new TextEncoder();

export interface BatchProcessor {
  (task: BatchTask): BatchResult;
}

/** JSON string literal of a value we control (digits, ids, hex): JSON.stringify is still the safe choice. */
const q = JSON.stringify;

/** Room for one archive line's `_cali` suffix, so that ASCII batches never grow the buffer. */
const SUFFIX_BYTES_PER_RECORD = 256;

/**
 * Archive lines UTF-8-encoded one at a time into one growing buffer. Encoding
 * the batch as one concatenated string cost more than parsing it on Node 20
 * (and 24): one non-ASCII character anywhere made the whole rope a two-byte
 * string, which had to be flattened and then encoded on V8's slow path. Line
 * by line, only the lines with non-ASCII characters pay.
 */
class Utf8Lines {
  private bytes: Uint8Array;
  private length = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  append(line: string): void {
    let rest = line;
    for (;;) {
      const { read, written } = encoder.encodeInto(rest, this.bytes.subarray(this.length));
      this.length += written;
      if (read === rest.length) return;
      rest = rest.slice(read);
      const grown = new Uint8Array(Math.max(2 * this.bytes.length, this.length + 3 * rest.length));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
  }

  /** The lines in a buffer of their exact size (the worker moves it to the main thread). */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
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
    const bytes = new Uint8Array(task.buffer);
    const { offsets, count, shardId } = task;
    const shardLiteral = q(shardId);
    const invalid: InvalidRecord[] = [];
    const incidents = new Map<string, IncidentCandidate>();
    const stats: BatchStats = { records: count, subRecords: 0, valid: 0, invalid: 0, fingerprinted: 0, busyMs: 0 };
    const archive = new Utf8Lines(bytes.byteLength + count * SUFFIX_BYTES_PER_RECORD);
    let archiveLines = 0;
    const subRecords: DecodedSubRecord[] = [];

    for (let i = 0; i < count; i++) {
      const payload = bytes.subarray(offsets[i]!, offsets[i + 1]!);
      const sequenceNumber = utf8.decode(bytes.subarray(offsets[count + 1 + i]!, offsets[count + 2 + i]!));
      const arrival = task.arrivalMs[i]!;
      subRecords.length = 0;
      decodeRecord(payload, subRecords, decodeOptions);
      for (const sub of subRecords) {
        stats.subRecords++;
        if (sub.failure !== undefined) {
          invalid.push({ recordIndex: i, subSequenceNumber: sub.subSequenceNumber, code: sub.failure, message: sub.message });
          continue;
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(sub.text);
        } catch (error) {
          invalid.push({ recordIndex: i, subSequenceNumber: sub.subSequenceNumber, code: 'malformed_json', message: (error as Error).message });
          continue;
        }
        const checked = validateLogRecord(parsed);
        if (!checked.success) {
          invalid.push({
            recordIndex: i,
            subSequenceNumber: sub.subSequenceNumber,
            code: 'schema_violation',
            errors: checked.errors.slice(0, MAX_ERRORS_PER_RECORD).map((e) => ({ path: e.path, expected: e.expected })),
          });
          continue;
        }
        const record: LogRecord = checked.data;
        const timestampMs = Date.parse(record.timestamp);
        const level = levelClass(record.level);
        let fingerprintLiteral = 'null';
        if (LEVEL_RANK[level] >= minRank) {
          const fp = fingerprint(record);
          stats.fingerprinted++;
          fingerprintLiteral = q(fp.fingerprint);
          const pod = record.kubernetes?.pod_name;
          const existing = incidents.get(fp.fingerprint);
          if (existing) {
            existing.count++;
            if (timestampMs < existing.firstSeenMs) existing.firstSeenMs = timestampMs;
            if (timestampMs > existing.lastSeenMs) existing.lastSeenMs = timestampMs;
            if (pod !== undefined && existing.pods.length < MAX_PODS_PER_CANDIDATE && !existing.pods.includes(pod)) existing.pods.push(pod);
          } else {
            const root = fp.exceptions.at(-1);
            const k8s = record.kubernetes;
            incidents.set(fp.fingerprint, {
              fingerprint: fp.fingerprint,
              kind: fp.kind,
              template: fp.template,
              service: record.service,
              levelClass: level,
              count: 1,
              firstSeenMs: timestampMs,
              lastSeenMs: timestampMs,
              pods: pod === undefined ? [] : [pod],
              sample: { message: record.message, exception: root?.type, sequenceNumber, subSequenceNumber: sub.subSequenceNumber, frames: frameLines(fp.exceptions) },
              kubernetes: k8s === undefined ? undefined : { namespace: k8s.namespace_name, labels: k8s.labels, image: k8s.container_image },
            });
          }
        }
        stats.valid++;
        // The record's own text with `_cali` appended before its closing brace: no re-serialisation.
        const text = sub.text;
        const close = text.lastIndexOf('}');
        archive.append(`${text.slice(0, close)},"_cali":{"shardId":${shardLiteral},"sequenceNumber":"${sequenceNumber}","subSequenceNumber":${sub.subSequenceNumber},"fingerprint":${fingerprintLiteral},"arrivalMs":${Number.isNaN(arrival) ? 'null' : arrival},"timestampMs":${timestampMs},"level":"${level}"}}\n`);
        archiveLines++;
      }
    }
    stats.invalid = invalid.length;
    stats.busyMs = performance.now() - startedMs;
    return { archive: archive.finish(), archiveLines, invalid, incidents: [...incidents.values()], stats };
  };
}
