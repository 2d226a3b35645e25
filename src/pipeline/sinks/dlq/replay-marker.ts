/**
 * Replay markers, defined once: what `cali dlq replay` writes after a batch of
 * dead letters reached the archive (or was superseded by new dead letters),
 * so that the next replay skips them. Small NDJSON manifests under the
 * `replayed/` prefix of the DLQ destination, one per replay batch:
 *
 *   replayed/<startMs>-<runId>-<batch>.ndjson
 *
 *   {"objectKey":"2025/01/02/03/1735787045678-w1-0a1b2c3d-000000.ndjson","lineNumber":7,
 *    "shardId":"shardId-000000000001","sequenceNumber":"4959...","subSequenceNumber":0,
 *    "outcome":"archived","archivedSubSequenceNumbers":[0],"replayedAt":"2025-01-03T10:00:00.000Z"}
 *
 * A dead letter is identified by its DLQ object key and line number: objects
 * are never rewritten, so the pair names one line for ever. The position and
 * the archived sub-sequence numbers let a later replay recognise a duplicate
 * dead letter (the DLQ is at-least-once too) whose records are already archived.
 *
 * The keys do not match the DLQ's object key scheme (src/pipeline/sinks/object-key.ts),
 * so the DLQ readers never see a marker as a dead letter.
 */
import typia, { type tags } from 'typia';
import { objectLines, parseJsonLine, type ParseResult } from '../object-reader.js';
import type { ObjectStore } from '../object-store/object-store.js';

export const REPLAY_MARKER_PREFIX = 'replayed/';

/**
 * `archived`: every record the dead letter stood for is in the archive now.
 * `superseded`: at least one of them still fails, with a reason other than
 * the one recorded; it was written to the DLQ again as a new dead letter.
 */
export type ReplayOutcome = 'archived' | 'superseded';

export interface ReplayMarkerLine {
  objectKey: string & tags.MinLength<1>;
  lineNumber: number & tags.Type<'uint32'> & tags.Minimum<1>;
  shardId: string & tags.MinLength<1>;
  sequenceNumber: string & tags.MinLength<1>;
  subSequenceNumber: number & tags.Type<'uint64'>;
  outcome: ReplayOutcome;
  /** Sub-records of the original Kinesis record now in the archive because of this dead letter. */
  archivedSubSequenceNumbers: (number & tags.Type<'uint64'>)[];
  replayedAt: string & tags.Format<'date-time'>;
}

const validateReplayMarkerLine = typia.createValidate<ReplayMarkerLine>();

export function parseReplayMarkerLine(text: string): ParseResult<ReplayMarkerLine> {
  return parseJsonLine(text, validateReplayMarkerLine);
}

const pad = (value: number, digits: number): string => String(value).padStart(digits, '0');

/** Keys sort by run start, then batch: an operator lists them in the order they were written. */
export function replayMarkerKey(runStartMs: number, runId: string, batch: number): string {
  return `${REPLAY_MARKER_PREFIX}${pad(runStartMs, 13)}-${runId}-${pad(batch, 6)}.ndjson`;
}

export function encodeReplayMarkers(lines: readonly ReplayMarkerLine[]): Buffer {
  return Buffer.from(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
}

export type ScannedReplayMarker =
  | { readonly marker: ReplayMarkerLine; readonly unreadable?: undefined }
  | { readonly marker?: undefined; readonly unreadable: { readonly objectKey: string; readonly lineNumber: number; readonly message: string } };

/** Every marker line under the DLQ destination, a bad line or object reported and passed over. */
export async function* scanReplayMarkers(store: ObjectStore): AsyncGenerator<ScannedReplayMarker> {
  for await (const object of store.list(REPLAY_MARKER_PREFIX)) {
    let lastLine = 0;
    try {
      for await (const line of objectLines(store, object.key)) {
        lastLine = line.lineNumber;
        const parsed = parseReplayMarkerLine(line.bytes.toString('utf8'));
        if (parsed.success) yield { marker: parsed.data };
        else yield { unreadable: { objectKey: object.key, lineNumber: line.lineNumber, message: `not a replay marker: ${parsed.errors.slice(0, 3).map((e) => `${e.path}: expected ${e.expected}`).join('; ')}` } };
      }
    } catch (error) {
      yield { unreadable: { objectKey: object.key, lineNumber: lastLine + 1, message: `cannot read: ${error instanceof Error ? error.message : String(error)}` } };
    }
  }
}
