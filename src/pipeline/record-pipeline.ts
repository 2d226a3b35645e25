/**
 * The record pipeline: the pipeline's implementation of the lease layer's
 * record-processor contract. Per shard, a batch is run through the worker
 * pool, its invalid records go to the DLQ and its valid ones to the archive;
 * when both REQUIRED sinks acked, and every earlier batch of the shard has
 * completed, the checkpoint moves to the batch's last record. Never past an
 * un-acked record; never after the lease was lost.
 *
 * Backpressure: at most `maxInFlightBatchesPerShard` batches per shard and
 * `maxInFlightBatches` in all; processRecords() waits for room, and the shard
 * consumer does not read again until it returns. A failing sink is retried
 * with backoff for as long as it takes: the shard stalls, nothing is dropped.
 */
import type { RecordCheckpointer, ShardBatch, ShardRecordProcessor, StreamRecord } from '../lease/record-processor.js';
import type { BatchResult, IncidentCandidate } from '../workers/protocol.js';
import { PipelineEventBus } from './events.js';
import { Semaphore } from './semaphore.js';
import type { ArchiveChunk } from './sinks/archive/sink.js';
import type { DeadLetter } from './sinks/dlq/dead-letter.js';
import type { Sink } from './sinks/sink.js';
import type { WorkerPool } from './worker-pool.js';
import { sleep } from '../sleep.js';

/** Not required for the checkpoint: alerting has its own durability (issue "Alerting"). */
export interface IncidentSink {
  publish(shardId: string, candidates: readonly IncidentCandidate[]): void;
}

export interface PipelineSinks {
  readonly archive: Sink<ArchiveChunk>;
  readonly dlq: Sink<DeadLetter>;
  readonly incidents: IncidentSink;
  /** The search index (OpenSearch): the archive lines again; `required` makes it gate the checkpoint like the archive. */
  readonly search?: { readonly sink: Sink<ArchiveChunk>; readonly required: boolean } | undefined;
}

/** What the pipeline needs of the worker pool (the real one, or a fake in tests). */
export type BatchRunner = Pick<WorkerPool, 'run' | 'threads'> & Partial<Pick<WorkerPool, 'release'>>;

export interface PipelineOptions {
  readonly maxInFlightBatchesPerShard?: number;
  readonly maxInFlightBatches?: number;
  readonly sinkRetryBaseMs?: number;
  readonly sinkRetryMaxMs?: number;
}


const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

export function deadLettersOf(shardId: string, records: readonly StreamRecord[], result: BatchResult, nowMs: number): DeadLetter[] {
  return result.invalid.map((entry) => {
    const record = records[entry.recordIndex]!;
    return {
      shardId,
      sequenceNumber: record.sequenceNumber,
      subSequenceNumber: entry.subSequenceNumber,
      reason: { code: entry.code, message: entry.message, errors: entry.errors },
      data: record.data,
      failedAtMs: nowMs,
    };
  });
}

export class RecordPipeline {
  readonly events: PipelineEventBus;
  private readonly global: Semaphore;
  private readonly perShard: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;

  constructor(private readonly pool: BatchRunner, private readonly sinks: PipelineSinks, options: PipelineOptions = {}, events?: PipelineEventBus) {
    this.events = events ?? new PipelineEventBus();
    this.perShard = Math.max(1, options.maxInFlightBatchesPerShard ?? 2);
    this.global = new Semaphore(Math.max(1, options.maxInFlightBatches ?? pool.threads * 2 + 2));
    this.retryBaseMs = options.sinkRetryBaseMs ?? 200;
    this.retryMaxMs = options.sinkRetryMaxMs ?? 10_000;
  }

  /** Batches in flight across all shards, and shards waiting for room: backpressure, for metrics and /status. */
  get inFlight(): { batches: number; waiting: number } {
    return { batches: this.global.inUse, waiting: this.global.waiting };
  }

  processorFor(shardId: string): ShardRecordProcessor {
    return new ShardPipeline(shardId, this);
  }

  /** @internal One batch: workers, then both required sinks (retried until acked or cancelled). */
  async execute(shardId: string, batch: ShardBatch, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    const result = await this.pool.run(shardId, batch.records);
    if (signal.aborted) return;
    const deadLetters = deadLettersOf(shardId, batch.records, result, Date.now());
    const chunks = result.archiveLines > 0 ? [{ bytes: result.archive, lines: result.archiveLines }] : undefined;
    const search = this.sinks.search;
    // An offered search write decodes the lines at once (one attempt); a gating one may write them again.
    if (search !== undefined && !search.required && chunks !== undefined) this.offer(shardId, search.sink, chunks);
    const [archivedFirstTime, , searchedFirstTime] = await Promise.all([
      chunks !== undefined ? this.untilAcked(shardId, this.sinks.archive, chunks, signal) : false,
      deadLetters.length > 0 ? this.untilAcked(shardId, this.sinks.dlq, deadLetters, signal) : undefined,
      search?.required === true && chunks !== undefined ? this.untilAcked(shardId, search.sink, chunks, signal) : undefined,
    ]);
    if (signal.aborted) return;
    // An ack of the first write means every object holding the lines was written; after a failed
    // write another object may still hold them, so their buffer is left to the garbage collector;
    // so it is when a gating search sink needed a second write.
    if (archivedFirstTime && (search?.required !== true || searchedFirstTime === true)) this.pool.release?.(result);
    if (result.incidents.length > 0) {
      this.sinks.incidents.publish(shardId, result.incidents);
      this.events.emit('incidents.detected', { shardId, candidates: result.incidents });
    }
    const s = result.stats;
    let deadLetterReasons: Record<string, number> | undefined;
    if (deadLetters.length > 0) {
      deadLetterReasons = {};
      for (const letter of deadLetters) deadLetterReasons[letter.reason.code] = (deadLetterReasons[letter.reason.code] ?? 0) + 1;
    }
    let oldestArrivalMs = Number.POSITIVE_INFINITY;
    for (const record of batch.records) if (record.approximateArrivalMs !== undefined && record.approximateArrivalMs < oldestArrivalMs) oldestArrivalMs = record.approximateArrivalMs;
    this.events.emit('batch.completed', {
      shardId, records: s.records, subRecords: s.subRecords, valid: s.valid, invalid: s.invalid,
      durationMs: performance.now() - started, millisBehindLatest: batch.millisBehindLatest,
      firstSequenceNumber: batch.records[0]!.sequenceNumber, lastSequenceNumber: batch.records.at(-1)!.sequenceNumber,
      oldestArrivalAgeMs: Number.isFinite(oldestArrivalMs) ? Date.now() - oldestArrivalMs : undefined,
      fingerprinted: s.fingerprinted, workerBusyMs: s.busyMs, deadLetterReasons,
    });
  }

  /** @internal */
  acquire(signal: AbortSignal): Promise<void> {
    return this.global.acquire(signal);
  }

  /** @internal */
  release(): void {
    this.global.release();
  }

  /** @internal */
  get maxInFlightPerShard(): number {
    return this.perShard;
  }

  /** A sink that does not gate the checkpoint: one attempt, its failure reported, never waited for. */
  private offer(shardId: string, sink: Sink<ArchiveChunk>, chunks: readonly ArchiveChunk[]): void {
    sink.write(chunks).catch((error: unknown) => {
      let lines = 0;
      for (const chunk of chunks) lines += chunk.lines;
      this.events.emit('sink.skipped', { shardId, sink: sink.name, error: describe(error), lines });
    });
  }

  /** Writes until the sink acks (true if its first write did) or the work is cancelled (false). */
  private async untilAcked<T>(shardId: string, sink: Sink<T>, items: readonly T[], signal: AbortSignal): Promise<boolean> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await sink.write(items);
        return attempt === 1;
      } catch (error) {
        this.events.emit('sink.retry', { shardId, sink: sink.name, error: describe(error), attempt });
        const ceiling = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(attempt - 1, 10));
        await sleep(ceiling / 2 + Math.random() * (ceiling / 2), signal);
      }
    }
    return false;
  }
}

interface Job {
  readonly lastSequenceNumber: string;
  readonly done: Promise<void>;
  settled: boolean;
}

/** One shard's view of the pipeline: ordered completion and checkpoints. */
class ShardPipeline implements ShardRecordProcessor {
  private jobs: Job[] = [];
  private cancel = new AbortController();
  private checkpointer: RecordCheckpointer | undefined;
  private advancing: Promise<void> = Promise.resolve();
  private failure: unknown;
  private wake: (() => void) | undefined;

  constructor(private readonly shardId: string, private readonly pipeline: RecordPipeline) {}

  async initialize(): Promise<void> {
    this.cancel.abort();
    this.cancel = new AbortController();
    this.jobs = [];
    this.failure = undefined;
  }

  async processRecords(batch: ShardBatch, checkpointer: RecordCheckpointer): Promise<void> {
    this.throwIfFailed();
    if (batch.records.length === 0) return;
    this.checkpointer = checkpointer;
    const signal = this.cancel.signal;
    while (this.jobs.length >= this.pipeline.maxInFlightPerShard && !signal.aborted) {
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.throwIfFailed();
    }
    await this.pipeline.acquire(signal);
    const job: Job = {
      lastSequenceNumber: batch.records.at(-1)!.sequenceNumber,
      done: this.pipeline.execute(this.shardId, batch, signal).finally(() => this.pipeline.release()),
      settled: false,
    };
    this.jobs.push(job);
    job.done.then(
      () => { job.settled = true; this.advance(); },
      (error: unknown) => { this.failure ??= error; this.notify(); },
    );
  }

  async leaseLost(): Promise<void> {
    const inFlight = this.jobs.length;
    this.cancel.abort();
    this.jobs = [];
    this.notify();
    if (inFlight > 0) this.pipeline.events.emit('shard.cancelled', { shardId: this.shardId, inFlightBatches: inFlight });
  }

  async shardEnded(_input: unknown, checkpointer: RecordCheckpointer): Promise<void> {
    this.checkpointer = checkpointer;
    await this.drain();
  }

  async shutdownRequested(_input: unknown, checkpointer: RecordCheckpointer): Promise<void> {
    this.checkpointer = checkpointer;
    await this.drain();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Checkpoints completed batches in order, one write at a time. */
  private advance(): void {
    this.advancing = this.advancing.then(async () => {
      while (this.jobs[0]?.settled && !this.cancel.signal.aborted) {
        const job = this.jobs[0];
        try {
          await this.checkpointer!.checkpoint(job.lastSequenceNumber);
        } catch (error) {
          this.failure ??= error;
          this.notify();
          return;
        }
        if (this.jobs[0] === job) this.jobs.shift();
        this.notify();
      }
    });
  }

  /** Waits until every in-flight batch completed and was checkpointed (or the lease is gone). */
  private async drain(): Promise<void> {
    while (this.jobs.length > 0 && !this.cancel.signal.aborted) {
      this.throwIfFailed();
      await Promise.allSettled(this.jobs.map((job) => job.done));
      await this.advancing;
      if (this.jobs.length > 0 && this.jobs.every((job) => job.settled)) this.advance();
      await this.advancing;
    }
    this.throwIfFailed();
  }
}
