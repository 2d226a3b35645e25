/**
 * The pipeline's ordering, acknowledgement and cancellation rules with a fake
 * worker pool and fake sinks: checkpoints follow batch order and wait for
 * both required sinks; a failing sink stalls, never drops; a lost lease
 * cancels without checkpointing; in-flight batches per shard are bounded.
 */
import { describe, expect, it } from 'vitest';
import type { RecordCheckpointer, ShardBatch, StreamRecord } from '../src/lease/record-processor.js';
import { RecordPipeline, type BatchRunner } from '../src/pipeline/record-pipeline.js';
import type { ArchiveChunk } from '../src/pipeline/sinks/archive/sink.js';
import type { DeadLetter } from '../src/pipeline/sinks/dlq/dead-letter.js';
import { SinkError, type Sink } from '../src/pipeline/sinks/sink.js';
import type { BatchResult } from '../src/workers/protocol.js';

const encoder = new TextEncoder();
const record = (seq: number, text = '{}'): StreamRecord => ({ data: encoder.encode(text), sequenceNumber: String(seq), partitionKey: 'k', approximateArrivalMs: 0 });
const batchOf = (from: number, n: number): ShardBatch => ({ shardId: 's', records: Array.from({ length: n }, (_, i) => record(from + i)), millisBehindLatest: 0 });

class Gate {
  private opened = false;
  private waiters: (() => void)[] = [];
  open(): void { this.opened = true; for (const w of this.waiters.splice(0)) w(); }
  wait(): Promise<void> { return this.opened ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve)); }
}

/** Results: every record valid except those whose text is "bad"; each batch waits on its gate. */
function fakePool(gates: Map<string, Gate> = new Map()): BatchRunner {
  return {
    threads: 2,
    async run(_shardId, records): Promise<BatchResult> {
      await gates.get(records[0]!.sequenceNumber)?.wait();
      const bad = records.flatMap((r, i) => (new TextDecoder().decode(r.data) === 'bad' ? [i] : []));
      return {
        archive: encoder.encode('x\n'.repeat(records.length - bad.length)),
        archiveLines: records.length - bad.length,
        invalid: bad.map((i) => ({ recordIndex: i, subSequenceNumber: 0, code: 'malformed_json' as const })),
        incidents: [],
        stats: { records: records.length, subRecords: records.length, valid: records.length - bad.length, invalid: bad.length, fingerprinted: 0, busyMs: 0 },
      };
    },
  };
}

class FakeSink<T> implements Sink<T> {
  readonly written: T[][] = [];
  failuresLeft = 0;
  gate: Gate | undefined;
  constructor(readonly name: string) {}
  async write(items: readonly T[]): Promise<void> {
    await this.gate?.wait();
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new SinkError('sink_unavailable', this.name, 'injected outage', true);
    }
    this.written.push([...items]);
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
  health() { return { healthy: true, lastSuccessMs: undefined, consecutiveFailures: 0 }; }
}

function fakeCheckpointer(log: string[]): RecordCheckpointer {
  return {
    lastCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    async checkpoint(sequenceNumber) { log.push(sequenceNumber); },
  };
}

function setup(pool: BatchRunner, options = {}) {
  const archive = new FakeSink<ArchiveChunk>('archive');
  const dlq = new FakeSink<DeadLetter>('dlq');
  const pipeline = new RecordPipeline(pool, { archive, dlq, incidents: { publish: () => {} } }, { sinkRetryBaseMs: 1, sinkRetryMaxMs: 5, ...options });
  return { archive, dlq, pipeline };
}

describe('record pipeline', () => {
  it('checkpoints in batch order, after both sinks acked, even when later batches finish first', async () => {
    const gates = new Map([['100', new Gate()], ['200', new Gate()]]);
    const { pipeline } = setup(fakePool(gates), { maxInFlightBatchesPerShard: 3 });
    const checkpoints: string[] = [];
    const shard = pipeline.processorFor('s');
    await shard.initialize({ shardId: 's', startingCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
    const cp = fakeCheckpointer(checkpoints);
    await shard.processRecords(batchOf(100, 3), cp);
    await shard.processRecords(batchOf(200, 3), cp);
    await shard.processRecords(batchOf(300, 3), cp);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(checkpoints).toEqual([]);
    gates.get('200')!.open();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(checkpoints).toEqual([]);
    gates.get('100')!.open();
    await shard.shutdownRequested({ shardId: 's' }, cp);
    expect(checkpoints).toEqual(['102', '202', '302']);
  });

  it('sends invalid records to the DLQ with their original bytes and position', async () => {
    const { pipeline, dlq, archive } = setup(fakePool());
    const shard = pipeline.processorFor('s');
    const checkpoints: string[] = [];
    await shard.initialize({ shardId: 's', startingCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
    await shard.processRecords({ shardId: 's', records: [record(1), record(2, 'bad'), record(3)], millisBehindLatest: 0 }, fakeCheckpointer(checkpoints));
    await shard.shutdownRequested({ shardId: 's' }, fakeCheckpointer(checkpoints));
    expect(dlq.written.flat().map((d) => [d.sequenceNumber, d.reason.code, new TextDecoder().decode(d.data)])).toEqual([['2', 'malformed_json', 'bad']]);
    expect(archive.written.flat().map((c) => c.lines)).toEqual([2]);
    expect(checkpoints).toEqual(['3']);
  });

  it('stalls the checkpoint while a required sink fails, then recovers without dropping', async () => {
    const { pipeline, archive } = setup(fakePool());
    const retries: number[] = [];
    pipeline.events.on('sink.retry', ({ attempt }) => retries.push(attempt));
    archive.failuresLeft = 4;
    const shard = pipeline.processorFor('s');
    const checkpoints: string[] = [];
    await shard.initialize({ shardId: 's', startingCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
    await shard.processRecords(batchOf(10, 2), fakeCheckpointer(checkpoints));
    await shard.shutdownRequested({ shardId: 's' }, fakeCheckpointer(checkpoints));
    expect(retries).toEqual([1, 2, 3, 4]);
    expect(archive.written).toHaveLength(1);
    expect(checkpoints).toEqual(['11']);
  });

  it('gives the archive lines back to the pool once the archive sink acked them, and only then', async () => {
    const released: BatchResult[] = [];
    const pool: BatchRunner = { ...fakePool(), release: (result) => released.push(result) };
    const { pipeline, archive } = setup(pool);
    archive.gate = new Gate();
    const shard = pipeline.processorFor('s');
    const checkpoints: string[] = [];
    await shard.initialize({ shardId: 's', startingCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
    await shard.processRecords(batchOf(10, 2), fakeCheckpointer(checkpoints));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(released).toEqual([]);
    archive.gate.open();
    await shard.shutdownRequested({ shardId: 's' }, fakeCheckpointer(checkpoints));
    expect(released).toHaveLength(1);
    expect(released[0]!.archive).toBe(archive.written[0]![0]!.bytes);
  });

  it('leaves the archive lines to the garbage collector after a failed write (another object may still hold them)', async () => {
    const released: string[] = [];
    const inner = fakePool();
    // Each batch's lines name its first record, so that a release says which batch it was.
    const pool: BatchRunner = {
      threads: inner.threads,
      run: async (shardId, records) => ({ ...(await inner.run(shardId, records)), archive: encoder.encode(`${records[0]!.sequenceNumber}\n`), archiveLines: 1 }),
      release: (result) => released.push(new TextDecoder().decode(result.archive)),
    };
    const { pipeline, archive } = setup(pool);
    archive.failuresLeft = 1;
    const shard = pipeline.processorFor('s');
    const checkpoints: string[] = [];
    await shard.initialize({ shardId: 's', startingCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
    await shard.processRecords(batchOf(10, 2), fakeCheckpointer(checkpoints));
    await shard.processRecords(batchOf(20, 2), fakeCheckpointer(checkpoints));
    await shard.shutdownRequested({ shardId: 's' }, fakeCheckpointer(checkpoints));
    expect(checkpoints).toEqual(['11', '21']);
    expect(archive.written).toHaveLength(2);
    expect(released).toEqual(['20\n']);
  });

  it('bounds in-flight batches per shard: processRecords waits for room', async () => {
    const gates = new Map([['1', new Gate()]]);
    const { pipeline } = setup(fakePool(gates), { maxInFlightBatchesPerShard: 2 });
    const shard = pipeline.processorFor('s');
    const checkpoints: string[] = [];
    await shard.initialize({ shardId: 's', startingCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
    await shard.processRecords(batchOf(1, 1), fakeCheckpointer(checkpoints));
    await shard.processRecords(batchOf(2, 1), fakeCheckpointer(checkpoints));
    let third = false;
    const pending = shard.processRecords(batchOf(3, 1), fakeCheckpointer(checkpoints)).then(() => { third = true; });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(third).toBe(false);
    gates.get('1')!.open();
    await pending;
    expect(third).toBe(true);
    await shard.shutdownRequested({ shardId: 's' }, fakeCheckpointer(checkpoints));
    expect(checkpoints).toEqual(['1', '2', '3']);
  });

  it('cancels in-flight work on lease loss without checkpointing', async () => {
    const { pipeline, archive } = setup(fakePool());
    archive.gate = new Gate();
    const cancelled: number[] = [];
    pipeline.events.on('shard.cancelled', ({ inFlightBatches }) => cancelled.push(inFlightBatches));
    const shard = pipeline.processorFor('s');
    const checkpoints: string[] = [];
    await shard.initialize({ shardId: 's', startingCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
    await shard.processRecords(batchOf(1, 2), fakeCheckpointer(checkpoints));
    await shard.leaseLost({ shardId: 's' });
    archive.gate.open();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(checkpoints).toEqual([]);
    expect(cancelled).toEqual([1]);
    expect(pipeline.inFlight.batches).toBe(0);
  });
});

describe('record pipeline with a search sink', () => {
  function withSearch(required: boolean) {
    const archive = new FakeSink<ArchiveChunk>('archive');
    const dlq = new FakeSink<DeadLetter>('dlq');
    const search = new FakeSink<ArchiveChunk>('opensearch');
    const pipeline = new RecordPipeline(fakePool(), { archive, dlq, incidents: { publish: () => {} }, search: { sink: search, required } }, { sinkRetryBaseMs: 1, sinkRetryMaxMs: 5 });
    return { archive, search, pipeline };
  }

  it('gating: the checkpoint waits for the index like the archive, retrying it until it acks', async () => {
    const { pipeline, search } = withSearch(true);
    search.gate = new Gate();
    search.failuresLeft = 2;
    const shard = pipeline.processorFor('s');
    const checkpoints: string[] = [];
    await shard.initialize({ shardId: 's', startingCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
    await shard.processRecords(batchOf(10, 2), fakeCheckpointer(checkpoints));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(checkpoints).toEqual([]);
    search.gate.open();
    await shard.shutdownRequested({ shardId: 's' }, fakeCheckpointer(checkpoints));
    expect(search.written.flat().map((c) => c.lines)).toEqual([2]);
    expect(checkpoints).toEqual(['11']);
  });

  it('not gating: one attempt, its failure reported as sink.skipped with the lines, the checkpoint moves on', async () => {
    const { pipeline, search } = withSearch(false);
    search.failuresLeft = 1;
    const skipped: unknown[] = [];
    pipeline.events.on('sink.skipped', (e) => skipped.push(e));
    const shard = pipeline.processorFor('s');
    const checkpoints: string[] = [];
    await shard.initialize({ shardId: 's', startingCheckpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
    await shard.processRecords(batchOf(10, 3), fakeCheckpointer(checkpoints));
    await shard.shutdownRequested({ shardId: 's' }, fakeCheckpointer(checkpoints));
    expect(checkpoints).toEqual(['12']);
    expect(skipped).toEqual([{ shardId: 's', sink: 'opensearch', error: 'SinkError: opensearch: injected outage', lines: 3 }]);
    expect(search.written).toEqual([]);
  });
});
