/**
 * Archives and DLQs for the data-quality tests, written the way the consumer
 * writes them: simulator records packed per shard (packBatch), run through the
 * worker's own batch processor (decode, typia validation, fingerprinting,
 * `_cali` lines), then handed to the real ArchiveSink and DlqSink on a
 * destination. Only the clock is the test's, so objects land in chosen
 * windows. Problems are injected into the records BEFORE processing, as a
 * misbehaving producer or Fluent Bit would send them.
 */
import type { StreamRecord } from '../../src/lease/record-processor.js';
import { WORKER_SETTINGS } from '../../src/main.js';
import { packBatch } from '../../src/pipeline/pack.js';
import { deadLettersOf } from '../../src/pipeline/record-pipeline.js';
import { compileArchiveSinkConfig } from '../../src/pipeline/sinks/archive/config.js';
import { ArchiveSink } from '../../src/pipeline/sinks/archive/sink.js';
import { compileDlqSinkConfig } from '../../src/pipeline/sinks/dlq/config.js';
import { DlqSink } from '../../src/pipeline/sinks/dlq/sink.js';
import type { ObjectStore } from '../../src/pipeline/sinks/object-store/object-store.js';
import type { LogRecord } from '../../src/schema/log-record.js';
import { LogSimulator } from '../../src/simulator/generator.js';
import { compileFingerprinter } from '../../src/workers/fingerprint/fingerprint.js';
import { compileBatchProcessor } from '../../src/workers/process-batch.js';

export const WINDOW_MS = 10 * 60_000;
/** The validated window ends here in every quality test; the baseline windows precede it. */
export const WINDOW_END_MS = Date.parse('2026-11-20T12:00:00Z');
export const WINDOW_START_MS = WINDOW_END_MS - WINDOW_MS;

export interface WindowSpec {
  /** Window start; its objects start a few seconds later. */
  readonly startMs: number;
  readonly records: number;
  /** Extra invalid records (for the DLQ), besides the simulator's own 1%. */
  readonly invalid?: number;
  /** Change or drop (return undefined) each valid record before it is sent; `i` counts the window's records. */
  readonly mutate?: (record: LogRecord, i: number) => LogRecord | undefined;
  /** Arrival minus event time, ms (default 800). */
  readonly arrivalDelayMs?: number;
  /** Fraction of records sent twice (a consumer that crashed before its checkpoint). */
  readonly duplicateFraction?: number;
}

const encoder = new TextEncoder();
const processBatch = compileBatchProcessor(WORKER_SETTINGS, compileFingerprinter());
const SHARDS = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'];
const BATCH = 500;

export class QualityArchiveWriter {
  private nowMs = 0;
  private sequence = 10n ** 55n;
  private readonly archive: ArchiveSink;
  private readonly dlq: DlqSink;
  private readonly valid: LogSimulator;
  private readonly invalid: LogSimulator;
  private eventMs = 0;

  constructor(archiveStore: ObjectStore, dlqStore: ObjectStore, seed = 7) {
    const now = (): number => this.nowMs;
    // Big objects and a long age: the test's clock decides when an object is sealed (flush), not a timer.
    const writer = { maxObjectAgeMs: 3_600_000 };
    this.archive = new ArchiveSink(compileArchiveSinkConfig({ uri: '/unused', ...writer }), { store: archiveStore, workerId: 'quality-test', now });
    this.dlq = new DlqSink(compileDlqSinkConfig({ uri: '/unused', ...writer }), { store: dlqStore, workerId: 'quality-test', now });
    this.valid = new LogSimulator({ seed, errorRatio: 0.05, invalidRatio: 0.01, clock: () => this.eventMs });
    this.invalid = new LogSimulator({ seed: seed + 1, errorRatio: 0, invalidRatio: 1, clock: () => this.eventMs });
  }

  private nextSequence(): string {
    this.sequence += 7n;
    return this.sequence.toString();
  }

  async writeWindow(spec: WindowSpec): Promise<void> {
    const delay = spec.arrivalDelayMs ?? 800;
    const perShard = new Map<string, StreamRecord[]>(SHARDS.map((s) => [s, []]));
    const total = spec.records + (spec.invalid ?? 0);
    for (let i = 0; i < total; i++) {
      // Event times spread over the first 90% of the window: every record arrives within it.
      this.eventMs = spec.startMs + Math.floor(((i + 0.5) / total) * 0.9 * WINDOW_MS);
      const event = i < spec.records ? this.valid.next() : this.invalid.next();
      let data = event.data;
      if (event.kind === 'valid' && spec.mutate !== undefined) {
        const changed = spec.mutate(structuredClone(event.record), i);
        if (changed === undefined) continue;
        data = encoder.encode(JSON.stringify(changed));
      }
      const shard = SHARDS[i % SHARDS.length]!;
      const record: StreamRecord = { data, sequenceNumber: this.nextSequence(), partitionKey: `k${i}`, approximateArrivalMs: this.eventMs + delay };
      perShard.get(shard)!.push(record);
      if (spec.duplicateFraction !== undefined && (i % Math.round(1 / spec.duplicateFraction)) === 0) perShard.get(shard)!.push(record);
    }
    this.nowMs = spec.startMs + 5_000;
    // A write resolves when its object is written, which flush() forces: collect, flush, then wait.
    const writes: Promise<void>[] = [];
    for (const [shardId, records] of perShard) {
      for (let start = 0; start < records.length; start += BATCH) {
        const batch = records.slice(start, start + BATCH);
        const result = processBatch(packBatch(shardId, batch).task);
        writes.push(this.archive.write([{ bytes: result.archive, lines: result.archiveLines }]));
        const deadLetters = deadLettersOf(shardId, batch, result, this.nowMs);
        if (deadLetters.length > 0) writes.push(this.dlq.write(deadLetters));
      }
    }
    await Promise.all([...writes, this.archive.flush(), this.dlq.flush()]);
  }

  async close(): Promise<void> {
    await Promise.all([this.archive.close(), this.dlq.close()]);
  }
}

export interface ScenarioOptions {
  readonly current?: Omit<WindowSpec, 'startMs' | 'records'> & { readonly records?: number };
  readonly previousWindows?: number;
  readonly recordsPerWindow?: number;
  readonly seed?: number;
}

/** Six clean baseline windows, then the validated window with whatever problem the test injects. */
export async function writeScenario(archiveStore: ObjectStore, dlqStore: ObjectStore, options: ScenarioOptions = {}): Promise<void> {
  const writer = new QualityArchiveWriter(archiveStore, dlqStore, options.seed);
  const perWindow = options.recordsPerWindow ?? 1400;
  try {
    for (let k = options.previousWindows ?? 6; k >= 1; k--) await writer.writeWindow({ startMs: WINDOW_START_MS - k * WINDOW_MS, records: perWindow });
    await writer.writeWindow({ startMs: WINDOW_START_MS, records: perWindow, ...options.current });
  } finally {
    await writer.close();
  }
}
