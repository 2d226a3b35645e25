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

/**
 * What the tolerant scan yields where a dead letter should be: a line that is
 * not one (`object_format`, with its ObjectFormatError), or an object whose
 * bytes could not be read to the end (`object_unreadable`: a corrupt gzip
 * stream, an object deleted between listing and reading). `lineNumber` is the
 * line that failed, or for an unreadable object the line after the last one read.
 */
export interface UnreadableDeadLetter {
  readonly objectKey: string;
  readonly lineNumber: number;
  readonly code: 'object_format' | 'object_unreadable';
  readonly error: Error;
}

export type ScannedDeadLetter = ({ readonly unreadable?: undefined } & DeadLetterEntry) | { readonly unreadable: UnreadableDeadLetter };

/**
 * Like readDeadLetters, but a bad line or an unreadable object is yielded as
 * such and the scan goes on with the next line (or object): what a replay
 * needs, where one corrupt line must not hide the thousands after it. Failing
 * to LIST the destination still throws: without a listing there is nothing to go on.
 */
export async function* scanDeadLetters(store: ObjectStore, window: TimeWindow = {}): AsyncGenerator<ScannedDeadLetter> {
  for await (const object of listObjectsInWindow(store, window)) {
    let lastLine = 0;
    try {
      for await (const line of objectLines(store, object.key)) {
        lastLine = line.lineNumber;
        const parsed = parseDeadLetterLine(line.bytes.toString('utf8'));
        if (parsed.success) {
          yield { objectKey: object.key, lineNumber: line.lineNumber, deadLetter: fromDeadLetterLine(parsed.data) };
        } else {
          const error = new ObjectFormatError(object.key, line.lineNumber, parsed.errors);
          yield { unreadable: { objectKey: object.key, lineNumber: line.lineNumber, code: 'object_format', error } };
        }
      }
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      yield { unreadable: { objectKey: object.key, lineNumber: lastLine + 1, code: 'object_unreadable', error: cause } };
    }
  }
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
