/**
 * A DLQ outage with the real worker pool and the real sinks: the outage
 * outlasts the sink's own retries, the shard's checkpoint stalls, and once the
 * destination is back every record is archived or dead-lettered, nothing lost.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { RecordCheckpointer, StreamRecord } from '../src/lease/record-processor.js';
import { RecordPipeline } from '../src/pipeline/record-pipeline.js';
import { readArchivedRecords } from '../src/pipeline/sinks/archive/reader.js';
import { ArchiveSink } from '../src/pipeline/sinks/archive/sink.js';
import { compileArchiveSinkConfig } from '../src/pipeline/sinks/archive/config.js';
import { compileDlqSinkConfig } from '../src/pipeline/sinks/dlq/config.js';
import { readDeadLetters } from '../src/pipeline/sinks/dlq/reader.js';
import { DlqSink } from '../src/pipeline/sinks/dlq/sink.js';
import { ObjectStoreError } from '../src/pipeline/sinks/object-store/object-store.js';
import { WorkerPool } from '../src/pipeline/worker-pool.js';
import { LogSimulator } from '../src/simulator/generator.js';
import { FaultyObjectStore, MemoryObjectStore } from './support/object-stores.js';

const pool = new WorkerPool({ threads: 1, settings: { fingerprintMinLevel: 'warn', maxDecodedBytes: 1024 * 1024 } });
afterAll(() => pool.destroy());

describe('a DLQ outage', () => {
  it('stalls the checkpoint, then recovers with nothing lost', async () => {
    let dlqDown = true;
    const archiveStore = new MemoryObjectStore();
    const dlqStore = new MemoryObjectStore();
    const faultyDlq = new FaultyObjectStore(dlqStore, () => (dlqDown ? new ObjectStoreError('unavailable', 'ServiceUnavailable', 'injected outage') : undefined));
    const fast = { maxObjectAgeMs: 20, retry: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 10 } };
    const archive = new ArchiveSink(compileArchiveSinkConfig({ uri: 's3://archive-bucket/archive/', ...fast }), { store: archiveStore, workerId: 'w' });
    const dlq = new DlqSink(compileDlqSinkConfig({ uri: 's3://dlq-bucket/dlq/', ...fast }), { store: faultyDlq, workerId: 'w' });
    const pipeline = new RecordPipeline(pool, { archive, dlq, incidents: { publish: () => {} } }, { sinkRetryBaseMs: 10, sinkRetryMaxMs: 50 });
    const retries: string[] = [];
    pipeline.events.on('sink.retry', ({ sink }) => retries.push(sink));

    const simulator = new LogSimulator({ seed: 4, errorRatio: 0.1, invalidRatio: 0.1 });
    const events = Array.from({ length: 300 }, () => simulator.next());
    const records: StreamRecord[] = events.map((e, i) => ({ data: e.data, sequenceNumber: String(1_000_000 + i), partitionKey: 'k', approximateArrivalMs: Date.now() }));
    const checkpoints: string[] = [];
    const checkpointer: RecordCheckpointer = { lastCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }, checkpoint: async (s) => { checkpoints.push(s); } };
    const shard = pipeline.processorFor('shardId-000000000000');
    await shard.initialize({ shardId: 'shardId-000000000000', startingCheckpoint: checkpointer.lastCheckpoint });
    await shard.processRecords({ shardId: 'shardId-000000000000', records: records.slice(0, 150), millisBehindLatest: 0 }, checkpointer);
    await shard.processRecords({ shardId: 'shardId-000000000000', records: records.slice(150), millisBehindLatest: 0 }, checkpointer);

    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(checkpoints).toEqual([]);
    expect(retries.filter((s) => s === 'dlq').length).toBeGreaterThan(1);
    expect(dlq.health().healthy).toBe(false);

    dlqDown = false;
    await shard.shutdownRequested({ shardId: 'shardId-000000000000' }, checkpointer);
    expect(checkpoints).toEqual([String(1_000_149), String(1_000_299)]);
    await Promise.all([archive.close(), dlq.close()]);

    const archived = new Set<string>();
    for await (const { record } of readArchivedRecords(archiveStore)) archived.add(record._cali.sequenceNumber);
    const deadLettered = new Set<string>();
    for await (const { deadLetter } of readDeadLetters(dlqStore)) deadLettered.add(deadLetter.sequenceNumber);
    const invalid = events.filter((e) => e.kind === 'invalid').length;
    expect(deadLettered.size).toBe(invalid);
    expect(archived.size).toBe(events.length - invalid);
    for (const r of records) expect(archived.has(r.sequenceNumber) || deadLettered.has(r.sequenceNumber)).toBe(true);
  }, 30_000);
});
