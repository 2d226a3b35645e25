/**
 * One archive line as the reconciliation and data-quality readers see it: the
 * validated record with its `_cali` position (ARCHITECTURE.md, "Archive
 * records"). Only `_cali` is checked here; the record's own fields are the
 * log record type's business, and extra `_cali` fields are allowed so the
 * workers can add to it without breaking readers.
 */
import typia, { type tags } from 'typia';
import { parseJsonLine, type ParseResult } from '../object-reader.js';

export interface ArchivePosition {
  shardId: string & tags.MinLength<1>;
  sequenceNumber: string & tags.MinLength<1>;
  // KPL sub-record k starts at k * 1e9 (src/workers/decode/index.ts): beyond uint32, within 2^53.
  subSequenceNumber: number & tags.Type<'uint64'>;
  /** null for records below the fingerprinting level. */
  fingerprint: string | null;
  /** Kinesis ApproximateArrivalTimestamp in epoch ms; null when unknown. */
  arrivalMs: number | null;
}

export interface ArchivedRecord {
  _cali: ArchivePosition;
  [field: string]: unknown;
}

const validateArchivedRecord = typia.createValidate<ArchivedRecord>();

export function parseArchivedRecord(text: string): ParseResult<ArchivedRecord> {
  return parseJsonLine(text, validateArchivedRecord);
}
