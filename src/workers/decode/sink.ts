/**
 * What decoding one Kinesis record produces: sub-records, each either the text
 * of one JSON object (not parsed here) or a failure with a stable reason code.
 * The codes are what the dead-letter queue records and what `cali dlq replay`
 * and dashboards match on: never rename one.
 */

export const DECODE_FAILURE_REASONS = [
  /** The record (or a KPL sub-record, or a gzip stream) holds no data, or only whitespace. */
  'empty_payload',
  /** The record is over `maxPayloadBytes`, or gzip inflates past `maxDecodedBytes`. */
  'payload_too_large',
  /** A KPL aggregate whose MD5 does not match its protobuf bytes (the whole aggregate). */
  'kpl_checksum_mismatch',
  /** A KPL aggregate whose protobuf is not a valid AggregatedRecord (the whole aggregate). */
  'kpl_malformed',
  /** A gzip stream that does not inflate (truncated, corrupt, bad CRC, trailing garbage). */
  'gzip_corrupt',
  'invalid_utf8',
  /** The text does not start with `{`: binary data or some other format. */
  'not_json_object',
] as const;

export type DecodeFailureReason = (typeof DECODE_FAILURE_REASONS)[number];

/**
 * Receives the sub-records of one Kinesis record, in increasing
 * sub-sequence-number order. Decoding one record always calls it at least once.
 */
export interface DecodeSink {
  /**
   * One JSON object candidate, exactly as it was in the record (surrounding
   * whitespace included). It is valid UTF-8 text, so encoding it with
   * TextEncoder gives back the original bytes (for the DLQ). Those bytes are
   * `bytes[start, end)`: a view of the payload, or of the inflated gzip data,
   * valid only during the call; copying them is cheaper than re-encoding the
   * text (the worker builds archive lines that way).
   */
  text(subSequenceNumber: number, text: string, bytes: Uint8Array, start: number, end: number): void;
  /** Bytes that cannot become a record; `message` says where and why, for operators. */
  failure(subSequenceNumber: number, reason: DecodeFailureReason, message: string): void;
}

export interface DecodedText {
  readonly subSequenceNumber: number;
  readonly failure?: undefined;
  readonly text: string;
}

export interface DecodeFailure {
  readonly subSequenceNumber: number;
  readonly failure: DecodeFailureReason;
  readonly message: string;
}

export type DecodedSubRecord = DecodedText | DecodeFailure;
