/**
 * The dead-letter format, defined once: what the DLQ sink writes and what
 * `cali dlq replay` and the reconciliation readers read. One JSON line per
 * invalid record (or sub-record):
 *
 *   {"shardId":"shardId-000000000001","sequenceNumber":"4959...","subSequenceNumber":0,
 *    "reason":{"code":"schema_violation","message":"...","errors":[{"path":"$input.level","expected":"..."}]},
 *    "dataBase64":"<the ORIGINAL Kinesis record bytes>","failedAt":"2025-01-02T03:04:05.678Z"}
 *
 * The data is the whole Kinesis record as received (gzip, KPL aggregate and
 * all), so a replay decodes it again exactly as the first time.
 */
import typia, { type tags } from 'typia';
import { parseJsonLine, type ParseResult } from '../object-reader.js';

export interface DeadLetterIssue {
  readonly path: string;
  readonly expected: string;
}

export interface DeadLetterReason {
  /** A stable code (`schema_violation`, `malformed_json`, `worker_crash`, ...). */
  readonly code: string;
  readonly message?: string | undefined;
  /** typia's error paths, for schema violations. */
  readonly errors?: readonly DeadLetterIssue[] | undefined;
}

/** What the pipeline hands the DLQ sink. */
export interface DeadLetter {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
  readonly reason: DeadLetterReason;
  /** The original Kinesis record bytes. */
  readonly data: Uint8Array;
  readonly failedAtMs: number;
}

/** One line of a DLQ object, as stored. */
export interface DeadLetterLine {
  shardId: string & tags.MinLength<1>;
  sequenceNumber: string & tags.MinLength<1>;
  // KPL sub-record k starts at k * 1e9 (src/workers/decode/index.ts): beyond uint32, within 2^53.
  subSequenceNumber: number & tags.Type<'uint64'>;
  reason: {
    code: string & tags.MinLength<1>;
    message?: string;
    errors?: { path: string; expected: string }[];
  };
  dataBase64: string & tags.Pattern<'^[A-Za-z0-9+/]*={0,2}$'>;
  failedAt: string & tags.Format<'date-time'>;
}

export function toDeadLetterLine(deadLetter: DeadLetter): DeadLetterLine {
  const { reason, data } = deadLetter;
  return {
    shardId: deadLetter.shardId,
    sequenceNumber: deadLetter.sequenceNumber,
    subSequenceNumber: deadLetter.subSequenceNumber,
    // Field by field: nothing but the documented fields reaches the DLQ.
    reason: {
      code: reason.code,
      ...(reason.message === undefined ? {} : { message: reason.message }),
      ...(reason.errors === undefined ? {} : { errors: reason.errors.map(({ path, expected }) => ({ path, expected })) }),
    },
    dataBase64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'),
    // Throws RangeError on a non-finite time: a bug in the caller, surfaced, not written.
    failedAt: new Date(deadLetter.failedAtMs).toISOString(),
  };
}

export function fromDeadLetterLine(line: DeadLetterLine): DeadLetter {
  return {
    shardId: line.shardId,
    sequenceNumber: line.sequenceNumber,
    subSequenceNumber: line.subSequenceNumber,
    reason: line.reason,
    data: Buffer.from(line.dataBase64, 'base64'),
    failedAtMs: Date.parse(line.failedAt),
  };
}

const validateDeadLetterLine = typia.createValidate<DeadLetterLine>();

/** Parses and validates one DLQ line (malformed JSON included) without throwing. */
export function parseDeadLetterLine(text: string): ParseResult<DeadLetterLine> {
  const parsed = parseJsonLine(text, validateDeadLetterLine);
  // The pattern admits lengths base64 never has; Buffer.from would silently drop the tail.
  if (parsed.success && parsed.data.dataBase64.length % 4 !== 0) {
    return { success: false, errors: [{ path: '$input.dataBase64', expected: 'base64 (length a multiple of 4)' }] };
  }
  return parsed;
}
