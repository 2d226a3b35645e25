/**
 * Reconciliation of what a consumer wrote (archive + DLQ) against what is in
 * the stream: every record position must appear at least once; duplicates are
 * counted. Used by the end-to-end tests and `cali local --summary`-style checks.
 */
import { readArchivedRecords } from '../../src/pipeline/sinks/archive/reader.js';
import { readDeadLetters } from '../../src/pipeline/sinks/dlq/reader.js';
import type { DeadLetter } from '../../src/pipeline/sinks/dlq/dead-letter.js';
import type { ObjectStore } from '../../src/pipeline/sinks/object-store/object-store.js';

export interface SinkReconciliation {
  readonly expected: number;
  readonly archived: number;
  readonly deadLettered: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly deadLetters: readonly DeadLetter[];
}

export async function reconcileSinks(stream: Map<string, string[]>, archive: ObjectStore, dlq: ObjectStore): Promise<SinkReconciliation> {
  const seen = new Map<string, number>();
  const bump = (key: string): void => { seen.set(key, (seen.get(key) ?? 0) + 1); };
  let archived = 0;
  let deadLettered = 0;
  const deadLetters: DeadLetter[] = [];
  for await (const { record } of readArchivedRecords(archive)) {
    archived++;
    bump(`${record._cali.shardId}/${record._cali.sequenceNumber}`);
  }
  for await (const { deadLetter } of readDeadLetters(dlq)) {
    deadLettered++;
    deadLetters.push(deadLetter);
    bump(`${deadLetter.shardId}/${deadLetter.sequenceNumber}`);
  }
  let expected = 0;
  let lost = 0;
  let duplicates = 0;
  for (const [shardId, sequences] of stream) {
    for (const sequence of sequences) {
      expected++;
      const n = seen.get(`${shardId}/${sequence}`) ?? 0;
      if (n === 0) lost++;
      else duplicates += n - 1;
    }
  }
  return { expected, archived, deadLettered, lost, duplicates, deadLetters };
}
