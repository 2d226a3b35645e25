/**
 * Streams the DLQ back for `cali dlq replay` and reconciliation: every dead
 * letter under the destination (or in objects started within a time window),
 * in key order, one object and one line at a time, with the original record
 * bytes decoded.
 */
import { listObjectsInWindow, ObjectFormatError, objectLines, type TimeWindow } from '../object-reader.js';
import type { ObjectStore } from '../object-store/object-store.js';
import { fromDeadLetterLine, parseDeadLetterLine, type DeadLetter } from './dead-letter.js';

export interface DeadLetterEntry {
  readonly objectKey: string;
  readonly lineNumber: number;
  readonly deadLetter: DeadLetter;
}

/** Throws ObjectFormatError at the first line that is not a dead letter. */
export async function* readDeadLetters(store: ObjectStore, window: TimeWindow = {}): AsyncGenerator<DeadLetterEntry> {
  for await (const object of listObjectsInWindow(store, window)) {
    for await (const line of objectLines(store, object.key)) {
      const parsed = parseDeadLetterLine(line.bytes.toString('utf8'));
      if (!parsed.success) throw new ObjectFormatError(object.key, line.lineNumber, parsed.errors);
      yield { objectKey: object.key, lineNumber: line.lineNumber, deadLetter: fromDeadLetterLine(parsed.data) };
    }
  }
}
