/**
 * Reconciliation for local runs and tests: every record position in the
 * stream must be in the archive or the DLQ at least once; copies beyond the
 * first are duplicates. A dead letter that `cali dlq replay` handled (it has
 * a replay marker) is not counted: its records are in the archive now, or in
 * a newer dead letter, and counting both would report every replayed record
 * as a duplicate. Reads the whole stream with a plain GetRecords loop
 * (ListShards includes closed shards), so it is for the embedded stack's
 * volumes, not for production streams.
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { readArchivedRecords } from '../pipeline/sinks/archive/reader.js';
import type { DeadLetter } from '../pipeline/sinks/dlq/dead-letter.js';
import { readDeadLetters } from '../pipeline/sinks/dlq/reader.js';
import { scanReplayMarkers } from '../pipeline/sinks/dlq/replay-marker.js';
import type { ObjectStore } from '../pipeline/sinks/object-store/object-store.js';

/** Sequence numbers per shard, in stream order. */
export async function readStreamPositions(client: Pick<KinesisClient, 'send'>, streamName: string): Promise<Map<string, string[]>> {
  const shards = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListShardsCommand(nextToken ? { NextToken: nextToken } : { StreamName: streamName }));
    shards.push(...(page.Shards ?? []));
    nextToken = page.NextToken;
  } while (nextToken);
  const result = new Map<string, string[]>();
  for (const shard of shards) {
    const sequence: string[] = [];
    let { ShardIterator: iterator } = await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }));
    while (iterator) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of page.Records ?? []) sequence.push(record.SequenceNumber!);
      if ((page.Records?.length ?? 0) === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
    result.set(shard.ShardId!, sequence);
  }
  return result;
}

export interface SinkReconciliation {
  /** Records in the stream. */
  readonly expected: number;
  readonly archived: number;
  /** Dead letters not replayed yet. */
  readonly deadLettered: number;
  /** Dead letters with a replay marker: left out of the counts (their records are archived or dead-lettered again). */
  readonly replayed: number;
  /** Stream records in neither sink. */
  readonly lost: number;
  /** Copies beyond the first (at-least-once redelivery after a crash). */
  readonly duplicates: number;
  /** The same, per shard that has any: where they are tells which failure caused them. */
  readonly duplicatesByShard: Readonly<Record<string, number>>;
  /** The dead letters counted (not replayed). */
  readonly deadLetters: readonly DeadLetter[];
}

/** DLQ lines (object key and line number) that a replay marker says were handled. */
async function replayedLines(dlq: ObjectStore): Promise<Set<string>> {
  const lines = new Set<string>();
  for await (const scanned of scanReplayMarkers(dlq)) {
    // An unreadable marker marks nothing: its dead letter is counted, the safe side for "lost".
    if (scanned.marker !== undefined) lines.add(`${scanned.marker.objectKey}#${scanned.marker.lineNumber}`);
  }
  return lines;
}

export async function reconcileSinks(stream: ReadonlyMap<string, readonly string[]>, archive: ObjectStore, dlq: ObjectStore): Promise<SinkReconciliation> {
  const seen = new Map<string, number>();
  const bump = (key: string): void => { seen.set(key, (seen.get(key) ?? 0) + 1); };
  let archived = 0;
  const deadLetters: DeadLetter[] = [];
  for await (const { record } of readArchivedRecords(archive)) {
    archived++;
    bump(`${record._cali.shardId}/${record._cali.sequenceNumber}/${record._cali.subSequenceNumber}`);
  }
  const handled = await replayedLines(dlq);
  let replayed = 0;
  for await (const { objectKey, lineNumber, deadLetter } of readDeadLetters(dlq)) {
    if (handled.has(`${objectKey}#${lineNumber}`)) {
      replayed++;
      continue;
    }
    deadLetters.push(deadLetter);
    bump(`${deadLetter.shardId}/${deadLetter.sequenceNumber}/${deadLetter.subSequenceNumber}`);
  }
  let expected = 0;
  let lost = 0;
  let duplicates = 0;
  const duplicatesByShard: Record<string, number> = {};
  for (const [shardId, sequences] of stream) {
    let shardDuplicates = 0;
    for (const sequence of sequences) {
      expected++;
      // Simulator records are single JSON objects: sub-sequence 0.
      const n = seen.get(`${shardId}/${sequence}/0`) ?? 0;
      if (n === 0) lost++;
      else shardDuplicates += n - 1;
    }
    duplicates += shardDuplicates;
    if (shardDuplicates > 0) duplicatesByShard[shardId] = shardDuplicates;
  }
  return { expected, archived, deadLettered: deadLetters.length, replayed, lost, duplicates, duplicatesByShard, deadLetters };
}
