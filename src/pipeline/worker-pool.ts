/**
 * The worker-thread pool (piscina) and what the pipeline needs of it: run a
 * shard batch (packed, moved; its buffer comes back and is reused, as is a
 * released result's archive buffer), survive crashed threads (a batch whose
 * thread died while running it is retried once, then bisected until the
 * poison record is alone; that record goes to the DLQ as `worker_crash` and
 * the rest of the batch is processed; a batch that only waited on that thread
 * is retried as it was), and report utilisation and queue depth for
 * backpressure and metrics.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { StreamRecord } from '../lease/record-processor.js';
import type { FingerprintConfig } from '../workers/fingerprint/config.js';
import { MAX_PODS_PER_CANDIDATE, type BatchResult, type IncidentCandidate, type WorkerSettings } from '../workers/protocol.js';
import type { WorkerData } from '../workers/worker-entry.js';
import { packBatch } from './pack.js';
import { sleep } from '../sleep.js';

export interface WorkerPoolOptions {
  /** Worker threads; default: available parallelism, at least 1. */
  readonly threads?: number;
  /** Close idle threads after this long (they restart on demand). */
  readonly idleTimeoutMs?: number;
  readonly settings: WorkerSettings;
  readonly fingerprint?: Partial<FingerprintConfig>;
  /** The worker module; tests substitute one that crashes on purpose. */
  readonly filename?: string;
  /** Told about every attempt that crashed its thread (for metrics and logs), not about batches that only waited on that thread. */
  readonly onWorkerCrash?: (error: unknown, records: number) => void;
  /** Told when the pool had to be rebuilt because piscina stopped replacing dead threads. */
  readonly onPoolReplaced?: () => void;
}

/**
 * Worker threads load their module with import(), not require(). Piscina tries
 * require() first, and Node 20's require() of an ES module aborts the whole
 * process (an assertion in CreateRequiredModuleFacade) when the thread is
 * terminated while loading, as when a pool is destroyed during start-up.
 * Without require(esm) piscina's require() throws and it falls back to import().
 */
export function workerExecArgv(): string[] {
  const requireModule = (process.features as { require_module?: boolean }).require_module === true;
  return requireModule ? [...process.execArgv, '--no-experimental-require-module'] : [...process.execArgv];
}

/** The compiled worker beside this module; from source (vitest) the build's copy. */
export function defaultWorkerFilename(): string {
  const here = fileURLToPath(import.meta.url);
  const beside = fileURLToPath(new URL('../workers/worker-entry.js', import.meta.url));
  if (existsSync(beside)) return beside;
  if (here.endsWith('.ts')) {
    const built = fileURLToPath(new URL('../../dist/src/workers/worker-entry.js', import.meta.url));
    if (existsSync(built)) return built;
  }
  throw new Error(`worker-entry.js not found beside ${here}: run \`npm run build\` first`);
}

/**
 * Batches a thread holds at once. The second waits in the thread's own queue
 * and starts the moment the first ends; with one, the thread idled for a round
 * trip through the main thread, which shares the cores with the workers and is
 * often not running just then (bench: 2-thread pool 4-8% faster).
 */
export const BATCHES_PER_THREAD = 2;

/**
 * Longest wait before retrying a batch that failed without having started
 * (it waited on a thread that died). Such a failure is not the batch's crash:
 * it is retried without end, 1, 2, 4... ms apart up to this, so that threads
 * dying as they boot stall the shards instead of sending their records to
 * the DLQ as `worker_crash` (the pool replacements are reported meanwhile).
 */
const UNSTARTED_RETRY_MAX_MS = 1_000;

const EMPTY_RESULT: BatchResult = {
  archive: new Uint8Array(0),
  archiveLines: 0,
  invalid: [],
  incidents: [],
  stats: { records: 0, subRecords: 0, valid: 0, invalid: 0, fingerprinted: 0, busyMs: 0 },
};

/** Joins the results of two consecutive halves of a batch (record indexes of the second shifted). */
export function mergeResults(first: BatchResult, second: BatchResult, firstCount: number): BatchResult {
  const archive = new Uint8Array(first.archive.byteLength + second.archive.byteLength);
  archive.set(first.archive, 0);
  archive.set(second.archive, first.archive.byteLength);
  const incidents = new Map<string, IncidentCandidate>(first.incidents.map((c) => [c.fingerprint, { ...c, pods: [...c.pods] }]));
  for (const c of second.incidents) {
    const existing = incidents.get(c.fingerprint);
    if (!existing) {
      incidents.set(c.fingerprint, c);
      continue;
    }
    existing.count += c.count;
    existing.firstSeenMs = Math.min(existing.firstSeenMs, c.firstSeenMs);
    existing.lastSeenMs = Math.max(existing.lastSeenMs, c.lastSeenMs);
    for (const pod of c.pods) if (existing.pods.length < MAX_PODS_PER_CANDIDATE && !existing.pods.includes(pod)) existing.pods.push(pod);
  }
  const a = first.stats;
  const b = second.stats;
  return {
    archive,
    archiveLines: first.archiveLines + second.archiveLines,
    invalid: [...first.invalid, ...second.invalid.map((r) => ({ ...r, recordIndex: r.recordIndex + firstCount }))],
    incidents: [...incidents.values()],
    stats: {
      records: a.records + b.records,
      subRecords: a.subRecords + b.subRecords,
      valid: a.valid + b.valid,
      invalid: a.invalid + b.invalid,
      fingerprinted: a.fingerprinted + b.fingerprinted,
      busyMs: a.busyMs + b.busyMs,
    },
  };
}

export class WorkerPool {
  private piscina: Piscina;
  readonly threads: number;
  private attemptsInFlight = 0;
  private destroyed = false;
  /** Shared with the threads (chaos runs): batches whose thread is to die, see crashNextBatch(). */
  private readonly crashes = new SharedArrayBuffer(4);
  /** Packed buffers the workers moved back, for the next batches (at most `maxSpareBuffers`). */
  private readonly spareBuffers: ArrayBuffer[] = [];
  /** Buffers of released archive lines, moved to the workers for the next batches' lines (at most `maxSpareBuffers`). */
  private readonly spareArchives: ArrayBuffer[] = [];
  private readonly maxSpareBuffers: number;

  constructor(private readonly options: WorkerPoolOptions) {
    this.threads = Math.max(1, options.threads ?? availableParallelism());
    // As many as RecordPipeline's default in-flight limit: one per batch in flight, so none is allocated in steady state.
    this.maxSpareBuffers = this.threads * 2 + 2;
    this.piscina = this.createPiscina();
  }

  private createPiscina(): Piscina {
    const { options } = this;
    const workerData: WorkerData = { settings: options.settings, fingerprint: options.fingerprint ?? {}, crashes: this.crashes };
    const piscina = new Piscina({
      filename: options.filename ?? defaultWorkerFilename(),
      execArgv: workerExecArgv(),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: options.idleTimeoutMs ?? 60_000,
      // The pipeline bounds in-flight batches itself (RecordPipeline's semaphores), so piscina
      // must not: its rejection would look like a crash here and bisect good records into the
      // DLQ as worker_crash ('auto' is threads², 1 for one thread: the 3rd batch in flight).
      maxQueue: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: BATCHES_PER_THREAD,
      workerData,
    });
    // Without a listener an error in an idle worker would crash the process.
    piscina.on('error', (error: unknown) => options.onWorkerCrash?.(error, 0));
    // After piscina's own replacement (synchronous with the removal) has had its chance.
    piscina.on('workerDestroy', () => setImmediate(() => this.replaceIfShortOfThreads(piscina)));
    return piscina;
  }

  /**
   * piscina stops replacing threads for good once one dies before it was
   * ready (it assumes a broken worker script): the pool would then hang with
   * its batches queued and stall every shard. When a dead thread left
   * `piscina` short, a fresh piscina takes over; destroying the old one fails
   * its queued batches, which run() retries on the new one.
   */
  private replaceIfShortOfThreads(piscina: Piscina): void {
    if (this.destroyed || piscina !== this.piscina || piscina.threads.length >= this.threads) return;
    this.piscina = this.createPiscina();
    this.options.onPoolReplaced?.();
    piscina.destroy().catch((error: unknown) => this.options.onWorkerCrash?.(error, 0));
  }

  /** Share of thread time busy since start, 0..1. */
  get utilization(): number {
    return this.piscina.utilization;
  }

  /** Batches waiting for a thread, in piscina's queue or behind a thread's current batch. */
  get queueSize(): number {
    return Math.max(0, this.attemptsInFlight - this.threads);
  }

  /**
   * Processes a batch; never rejects for a crashing record (it comes back as
   * `worker_crash`), only once the pool is destroyed.
   */
  async run(shardId: string, records: readonly StreamRecord[]): Promise<BatchResult> {
    if (records.length === 0) return EMPTY_RESULT;
    let crashes = 0;
    let unstarted = 0;
    while (crashes < 2) {
      const started = new Int32Array(new SharedArrayBuffer(4));
      try {
        return await this.attempt(shardId, records, started);
      } catch (error) {
        if (this.destroyed) throw error;
        if (Atomics.load(started, 0) === 1) {
          crashes++;
          this.options.onWorkerCrash?.(error, records.length);
        } else {
          await sleep(Math.min(UNSTARTED_RETRY_MAX_MS, 2 ** unstarted++));
        }
      }
    }
    if (records.length === 1) {
      return {
        ...EMPTY_RESULT,
        invalid: [{ recordIndex: 0, subSequenceNumber: 0, code: 'worker_crash', message: 'the worker thread crashed twice on this record' }],
        stats: { ...EMPTY_RESULT.stats, records: 1, invalid: 1 },
      };
    }
    const middle = Math.ceil(records.length / 2);
    const first = await this.run(shardId, records.slice(0, middle));
    const second = await this.run(shardId, records.slice(middle));
    return mergeResults(first, second, middle);
  }

  /**
   * For chaos runs: the thread that runs the next batch dies after doing its
   * work and before returning the result, as a crash mid-batch would; run()
   * retries the batch on the replacement thread.
   */
  crashNextBatch(): void {
    Atomics.add(new Int32Array(this.crashes), 0, 1);
  }

  /**
   * Tests of the replacement: waits (up to `waitMs`) until every thread holds
   * a batch, then terminates them all at once, also threads still booting,
   * which piscina never replaces (see replaceIfShortOfThreads). Resolves with
   * the batches in flight when it struck (0 if the threads did not fill up).
   */
  async terminateAllThreads(waitMs = 10_000): Promise<number> {
    const deadline = Date.now() + waitMs;
    while (this.attemptsInFlight < this.threads && Date.now() < deadline) await sleep(5);
    const inFlight = this.attemptsInFlight;
    if (inFlight < this.threads) return 0;
    await Promise.all(this.piscina.threads.map((thread) => thread.terminate()));
    return inFlight;
  }

  /**
   * Takes back the buffer of a result's archive lines for a later batch's
   * lines. Call it only once nothing reads `result.archive` any more (the
   * pipeline does when the archive sink acked it); the bytes are overwritten.
   * Without it nothing breaks, but every batch's lines take a new buffer,
   * and on the main thread those count as external memory that starts major
   * garbage collections.
   */
  release(result: BatchResult): void {
    const buffer = result.archive.buffer;
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0 || this.spareArchives.length >= this.maxSpareBuffers || this.spareArchives.includes(buffer)) return;
    this.spareArchives.push(buffer);
  }

  async destroy(): Promise<void> {
    this.destroyed = true;
    await this.piscina.destroy();
  }

  private async attempt(shardId: string, records: readonly StreamRecord[], started: Int32Array): Promise<BatchResult> {
    const packed = packBatch(shardId, records, this.spareBuffers.pop());
    const archiveBuffer = this.spareArchives.pop();
    const task = { ...packed.task, archiveBuffer, started };
    const transferList = archiveBuffer === undefined ? packed.transferList : [...packed.transferList, archiveBuffer];
    this.attemptsInFlight++;
    try {
      // A crashed attempt keeps its buffers (the thread is gone with them): the next one gets new ones.
      const { packed: spare, ...result } = (await this.piscina.run(task, { transferList })) as BatchResult;
      if (spare !== undefined && this.spareBuffers.length < this.maxSpareBuffers) this.spareBuffers.push(spare);
      return result;
    } finally {
      this.attemptsInFlight--;
    }
  }
}
