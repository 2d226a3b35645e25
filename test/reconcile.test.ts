/**
 * Reconciliation of the sinks against the stream (what `cali local --summary`
 * and the end-to-end tests report): a record in the archive or the DLQ is
 * delivered, one in neither is lost, extra copies are duplicates; and a dead
 * letter that `cali dlq replay` handled is not counted again beside the
 * archive line (or the new dead letter) that replaced it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamRecord } from '../src/lease/record-processor.js';
import { reconcileSinks } from '../src/local/reconcile.js';
import { WORKER_SETTINGS, REPLAY_WORKER_ID } from '../src/main.js';
import { replayDeadLetters } from '../src/pipeline/dlq-replay.js';
import { packBatch } from '../src/pipeline/pack.js';
import { deadLettersOf } from '../src/pipeline/record-pipeline.js';
import { compileArchiveSinkConfig } from '../src/pipeline/sinks/archive/config.js';
import { ArchiveSink } from '../src/pipeline/sinks/archive/sink.js';
import { compileDlqSinkConfig } from '../src/pipeline/sinks/dlq/config.js';
import type { DeadLetter } from '../src/pipeline/sinks/dlq/dead-letter.js';
import { DlqSink } from '../src/pipeline/sinks/dlq/sink.js';
import { LocalObjectStore } from '../src/pipeline/sinks/object-store/local-object-store.js';
import { WorkerPool } from '../src/pipeline/worker-pool.js';
import { LogSimulator, steppingClock, type InvalidEvent, type ValidEvent } from '../src/simulator/generator.js';
import { compileFingerprinter } from '../src/workers/fingerprint/fingerprint.js';
import { compileBatchProcessor } from '../src/workers/process-batch.js';

const SHARD = 'shardId-000000000000';
const scratch = mkdtempSync(join(tmpdir(), 'cali-reconcile-'));
const processBatch = compileBatchProcessor(WORKER_SETTINGS, compileFingerprinter());
let pool: WorkerPool;

beforeAll(() => {
  pool = new WorkerPool({ threads: 1, settings: WORKER_SETTINGS });
});

afterAll(async () => {
  await pool?.destroy();
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * A stream of 12 records as a consumer left it: 6 valid ones archived, 3 valid
 * ones dead-lettered under a rule that has been fixed since (a replay archives
 * them), 3 invalid ones dead-lettered for today's reason (they stay).
 */
async function consumedStream(name: string) {
  const simulator = new LogSimulator({ seed: 3, errorRatio: 0.2, invalidRatio: 0, clock: steppingClock(Date.parse('2026-11-01T10:00:00Z'), 11) });
  const valid = Array.from({ length: 9 }, () => simulator.next() as ValidEvent);
  const invalidSimulator = new LogSimulator({ seed: 4, errorRatio: 0, invalidRatio: 1 });
  const invalid = Array.from({ length: 3 }, () => invalidSimulator.next() as InvalidEvent);
  const records: StreamRecord[] = [...valid, ...invalid].map((event, i) => ({
    data: event.data,
    sequenceNumber: `4965000000000000000000000000000000000000000000${String(i).padStart(10, '0')}`,
    partitionKey: 'k',
    approximateArrivalMs: undefined,
  }));
  const archiveDir = join(scratch, `${name}-archive`);
  const dlqDir = join(scratch, `${name}-dlq`);
  const archive = new LocalObjectStore(archiveDir);
  const dlq = new LocalObjectStore(dlqDir);
  const archiveSink = new ArchiveSink(compileArchiveSinkConfig({ uri: archiveDir }), { store: archive, workerId: 'consumer-1' });
  const dlqSink = new DlqSink(compileDlqSinkConfig({ uri: dlqDir }), { store: dlq, workerId: 'consumer-1', now: () => Date.now() - 60_000 });
  const archived = processBatch(packBatch(SHARD, records.slice(0, 6)).task);
  await archiveSink.write([{ bytes: archived.archive, lines: archived.archiveLines }]);
  const oldRule: DeadLetter['reason'] = { code: 'schema_violation', message: 'a rule fixed since', errors: [{ path: '$input.service', expected: 'string & MaxLength<4>' }] };
  const letters: DeadLetter[] = [
    ...records.slice(6, 9).map((record) => ({ shardId: SHARD, sequenceNumber: record.sequenceNumber, subSequenceNumber: 0, reason: oldRule, data: record.data, failedAtMs: Date.now() - 60_000 })),
    ...deadLettersOf(SHARD, records.slice(9), processBatch(packBatch(SHARD, records.slice(9)).task), Date.now() - 60_000),
  ];
  expect(letters).toHaveLength(6);
  await dlqSink.write(letters);
  await Promise.all([archiveSink.close(), dlqSink.close()]);
  return { stream: new Map([[SHARD, records.map((r) => r.sequenceNumber)]]), archive, dlq, archiveDir, dlqDir };
}

describe('reconcileSinks', () => {
  it('counts each record once, in the archive or the DLQ, and reports records in neither as lost', async () => {
    const { stream, archive, dlq } = await consumedStream('steady');
    expect(await reconcileSinks(stream, archive, dlq)).toMatchObject({ expected: 12, archived: 6, deadLettered: 6, replayed: 0, lost: 0, duplicates: 0 });
    const withUnread = new Map([[SHARD, [...stream.get(SHARD)!, '49650000000000000000000000000000000000000000000000099']]]);
    expect(await reconcileSinks(withUnread, archive, dlq)).toMatchObject({ expected: 13, lost: 1, duplicates: 0 });
  });

  it('does not count a replayed dead letter again beside the archive line that replaced it', async () => {
    const { stream, archive, dlq, archiveDir, dlqDir } = await consumedStream('replayed');
    const sinks = {
      archive: new ArchiveSink(compileArchiveSinkConfig({ uri: archiveDir }), { store: archive, workerId: REPLAY_WORKER_ID }),
      dlq: new DlqSink(compileDlqSinkConfig({ uri: dlqDir }), { store: dlq, workerId: REPLAY_WORKER_ID }),
    };
    try {
      const summary = await replayDeadLetters({ store: dlq, runner: pool, sinks }, { dryRun: false });
      expect(summary).toMatchObject({ read: 6, replayed: 3 });
    } finally {
      await Promise.all([sinks.archive.close(), sinks.dlq.close()]);
    }
    const result = await reconcileSinks(stream, archive, dlq);
    expect(result).toMatchObject({ expected: 12, archived: 9, deadLettered: 3, replayed: 3, lost: 0, duplicates: 0 });
    expect(result.deadLetters.map((d) => d.sequenceNumber)).toEqual(stream.get(SHARD)!.slice(9));
  });
});
