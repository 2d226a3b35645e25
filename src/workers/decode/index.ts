/**
 * Record decoding, in the worker: one Kinesis record's payload in, its
 * sub-records out (each the text of one JSON object, or a typed failure).
 * Formats are recognised in this order:
 *
 * 1. KPL aggregate (magic F3 89 9A C2, protobuf, MD5; kpl.ts). Each
 *    sub-record's data is then decoded by rules 2 and 3.
 * 2. gzip (1F 8B; gzip.ts), inflated within `maxDecodedBytes`; the result is
 *    decoded by rule 3 (no gzip in gzip, no aggregate in gzip).
 * 3. Text (text.ts): one JSON object, or several joined by `\n` (Fluent Bit's
 *    `simple_aggregation`); anything that does not start with `{` fails as
 *    a whole (`not_json_object`).
 *
 * Sub-sequence numbers, unique and increasing within one Kinesis record:
 * - a plain or gzip record: the line's index among its non-empty lines
 *   (0 for a single JSON object);
 * - sub-record k of a KPL aggregate: k * 1e9 + the line's index within it
 *   (so 3000000017 reads "sub-record 3, line 17"; a KPL sub-record holding
 *   one object gets k * 1e9, not k as in the KCL).
 * Option bounds keep this exact: at most 10 MiB of payload gives fewer than
 * 1.8 million sub-records (a sub-record takes at least 6 bytes) and at most
 * 256 MiB of text fewer than 1e9 lines, so every number is below 2^53.
 * A failure of the whole record (or of sub-record k) takes the number its
 * first sub-record would have had: 0 (or k * 1e9).
 *
 * Every record yields at least one sub-record or failure, so the caller can
 * account for all of them. Nothing here throws, and nothing copies the payload:
 * sub-records are views and string slices of it.
 */
import { gunzipBounded, isGzip } from './gzip.js';
import { deaggregate, isKplAggregate } from './kpl.js';
import { DEFAULT_DECODE_OPTIONS, type DecodeOptions } from './options.js';
import type { DecodeFailureReason, DecodeSink, DecodedSubRecord } from './sink.js';
import { OPEN_BRACE, decodeJsonLines } from './text.js';

export { DECODE_FAILURE_REASONS, type DecodeFailure, type DecodeFailureReason, type DecodeSink, type DecodedSubRecord, type DecodedText } from './sink.js';
export { DEFAULT_DECODE_OPTIONS, resolveDecodeOptions, type DecodeOptions, type ResolvedDecodeOptions } from './options.js';
export { encodeKplAggregate, type KplRecordInput } from './kpl.js';

/** The sub-sequence numbers of KPL sub-record k start at k * SUB_RECORD_STRIDE. */
export const SUB_RECORD_STRIDE = 1_000_000_000;

/** Decodes a gzip or text unit; returns how many bytes gzip inflated, for the record's budget. */
function decodeUnit(bytes: Uint8Array, base: number, sink: DecodeSink, maxDecodedBytes: number): number {
  if (!isGzip(bytes)) {
    decodeJsonLines(bytes, base, sink);
    return 0;
  }
  const inflated = gunzipBounded(bytes, maxDecodedBytes, base, sink);
  if (!inflated) return 0;
  decodeJsonLines(inflated, base, sink);
  return inflated.length;
}

/** Reports a record that is empty or over maxPayloadBytes; false if its size is fine. */
function failedOnSize(length: number, sink: DecodeSink, options: DecodeOptions): boolean {
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_DECODE_OPTIONS.maxPayloadBytes;
  if (length === 0) {
    sink.failure(0, 'empty_payload', 'the record has no data');
  } else if (length > maxPayloadBytes) {
    sink.failure(0, 'payload_too_large', `the record has ${length} bytes, over maxPayloadBytes (${maxPayloadBytes})`);
  } else {
    return false;
  }
  return true;
}

/**
 * Decodes one Kinesis record's payload (a view into a larger buffer is fine)
 * into `sink`, in sub-sequence order. Pass options through
 * `resolveDecodeOptions` once; unset ones take the defaults.
 */
export function decodeRecordToSink(payload: Uint8Array, sink: DecodeSink, options: DecodeOptions = DEFAULT_DECODE_OPTIONS): void {
  let budget = options.maxDecodedBytes ?? DEFAULT_DECODE_OPTIONS.maxDecodedBytes;
  if (failedOnSize(payload.length, sink, options)) return;
  if (!isKplAggregate(payload)) {
    decodeUnit(payload, 0, sink, budget);
  } else {
    const aggregate = deaggregate(payload);
    if (!aggregate.ok) {
      sink.failure(0, aggregate.reason, `KPL aggregate: ${aggregate.message}`);
      return;
    }
    const data = aggregate.data;
    if (data.length === 0) sink.failure(0, 'empty_payload', 'KPL aggregate with no records');
    for (let i = 0; i < data.length; i += 2) {
      budget -= decodeUnit(payload.subarray(data[i]!, data[i + 1]!), (i / 2) * SUB_RECORD_STRIDE, sink, budget);
    }
  }
}

/**
 * Decodes a record at `bytes[from, to)` that the caller found to be all
 * ASCII and decoded as `text` (a batch does runs of records in one call
 * each): text lines at once, since the gzip and KPL magic bytes are not
 * ASCII, and without a view of its own. `singleLine`: the caller found no
 * newline in it (one search per run of records); a record that starts with
 * `{` is then sub-record 0 as it is, which is what decodeJsonLines would
 * make of it, without its search for lines.
 */
export function decodeAsciiRecordToSink(bytes: Uint8Array, from: number, to: number, text: string, sink: DecodeSink, options: DecodeOptions = DEFAULT_DECODE_OPTIONS, singleLine = false): void {
  if (failedOnSize(to - from, sink, options)) return;
  if (singleLine && bytes[from] === OPEN_BRACE) sink.text(0, text, bytes, from, to);
  else decodeJsonLines(bytes, 0, sink, text, from, to);
}

/** Collects into the caller's array: one small object per sub-record, for callers that want a list. */
class ArraySink implements DecodeSink {
  target: DecodedSubRecord[] = [];

  text(subSequenceNumber: number, text: string): void {
    this.target.push({ subSequenceNumber, text });
  }

  failure(subSequenceNumber: number, failure: DecodeFailureReason, message: string): void {
    this.target.push({ subSequenceNumber, failure, message });
  }
}

// One for the module: decoding is synchronous and ArraySink calls nothing back.
const arraySink = new ArraySink();
const NOTHING: DecodedSubRecord[] = [];

/** `decodeRecordToSink`, appending each sub-record to `out`. */
export function decodeRecord(payload: Uint8Array, out: DecodedSubRecord[], options?: DecodeOptions): void {
  arraySink.target = out;
  decodeRecordToSink(payload, arraySink, options);
  arraySink.target = NOTHING;
}
