/**
 * Streams the archive back: every line of every object under the destination
 * (or of the objects started within a time window), in key order, one object
 * and one line at a time. Lines come back byte for byte as the workers wrote
 * them; readArchivedRecords also parses and checks their `_cali` position.
 */
import { listObjectsInWindow, ObjectFormatError, objectLines, type ObjectLine, type TimeWindow } from '../object-reader.js';
import type { ObjectStore } from '../object-store/object-store.js';
import { parseArchivedRecord, type ArchivedRecord } from './archived-record.js';

export interface ArchiveLine extends ObjectLine {
  readonly objectKey: string;
}

export interface ArchiveEntry {
  readonly objectKey: string;
  readonly lineNumber: number;
  readonly record: ArchivedRecord;
}

export async function* readArchiveLines(store: ObjectStore, window: TimeWindow = {}): AsyncGenerator<ArchiveLine> {
  for await (const object of listObjectsInWindow(store, window)) {
    for await (const line of objectLines(store, object.key)) yield { objectKey: object.key, ...line };
  }
}

/** Throws ObjectFormatError at the first line that is not an archived record. */
export async function* readArchivedRecords(store: ObjectStore, window: TimeWindow = {}): AsyncGenerator<ArchiveEntry> {
  for await (const line of readArchiveLines(store, window)) {
    const parsed = parseArchivedRecord(line.bytes.toString('utf8'));
    if (!parsed.success) throw new ObjectFormatError(line.objectKey, line.lineNumber, parsed.errors);
    yield { objectKey: line.objectKey, lineNumber: line.lineNumber, record: parsed.data };
  }
}
