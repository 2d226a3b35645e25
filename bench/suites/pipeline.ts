/**
 * The record pipeline's CPU work and how it scales over worker threads, all on
 * the same records in the same run: the simulator's default mix (mostly INFO,
 * some WARN, 5% error scenarios with ~20-line stack traces, 1% invalid records
 * of every kind), in batches of 1000 as a shard reader hands them over.
 *
 * - Baseline: JSON.parse alone of the same records' text (the floor).
 * - The worker function's first steps, re-enacted here to show where the time
 *   goes: decode + JSON.parse, then + typia validate + normalise (timestamp
 *   to epoch ms, level class), without archive lines.
 * - The worker function (compileBatchProcessor) on the main thread, with
 *   fingerprinting off (decode + parse + validate + normalise + archive line:
 *   the issue's target is at most 1.5x JSON.parse) and on from WARN (the
 *   default: the single-thread pipeline).
 * - The WorkerPool with 1 and 2 threads: packed on the main thread, the
 *   buffer moved to the worker, archive bytes moved back (the real path).
 * - The same with structured clone instead (bench/clone-worker.ts): the
 *   StreamRecord objects cloned in, the result cloned back.
 *
 * A main-thread op processes 4 batches; a pool op pushes all 16 batches
 * through the pool four times (64 batches) with RecordPipeline's default
 * in-flight limit (threads x 2 + 2), the next batch starting as one finishes.
 * Threads wait only at an op's start and end, where the last batches finish
 * on one thread while the other has none left: a fixed cost per op that a
 * stream never pays, so the ops are long enough to make it small. Quick mode
 * (the test suite's smoke run) uses 2 batches of 250, each once per op.
 * The main-thread cases process pre-packed tasks; the pool cases pack every
 * batch as the pipeline does, so their numbers include that copy. Buffers
 * are reused as in the pipeline: a pool batch's archive lines are released
 * once counted (the pipeline releases them when the archive sink acked), and
 * a main-thread batch writes its lines into the previous batch's buffer.
 * Every op checks that it processed what the main thread did (a crashed or
 * skipped batch would otherwise look fast).
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { BenchCase, BenchSuite, CaseResult, RunOptions } from '../harness.js';
import type { ClonedBatch } from '../clone-worker.js';
import type { StreamRecord } from '../../src/lease/record-processor.js';
import { packBatch } from '../../src/pipeline/pack.js';
import { BATCHES_PER_THREAD, WorkerPool, workerExecArgv } from '../../src/pipeline/worker-pool.js';
import { LogSimulator, steppingClock } from '../../src/simulator/generator.js';
import { resolveDecodeOptions } from '../../src/workers/decode/index.js';
import { compileFingerprinter } from '../../src/workers/fingerprint/fingerprint.js';
import { compileBatchProcessor, decodeBatch, normalise, type BatchSink } from '../../src/workers/process-batch.js';
import type { BatchResult, BatchTask, WorkerSettings } from '../../src/workers/protocol.js';
import type { WorkerData } from '../../src/workers/worker-entry.js';

const SHARD_ID = 'shardId-000000000001';
const SETTINGS: WorkerSettings = { fingerprintMinLevel: 'warn', maxDecodedBytes: 1024 * 1024 };
const NO_FINGERPRINTS: WorkerSettings = { ...SETTINGS, fingerprintMinLevel: 'off' };

const CASE = {
  parse: 'JSON.parse of the records’ text',
  decodeParse: 'decode + JSON.parse',
  normalise: 'decode + JSON.parse + validate + normalise',
  noFingerprint: 'worker function, main thread, fingerprinting off',
  single: 'worker function, main thread, fingerprints from WARN',
  pool1: 'WorkerPool, 1 thread (packed, moved)',
  pool2: 'WorkerPool, 2 threads (packed, moved)',
  clone1: 'structured clone, 1 thread',
  clone2: 'structured clone, 2 threads',
} as const;

/** One op's records: a few batches, and what processing them must yield. */
interface Expected {
  readonly valid: number;
  readonly invalid: number;
}

interface Group extends Expected {
  readonly batches: readonly (readonly StreamRecord[])[];
  readonly tasks: readonly BatchTask[];
  readonly texts: readonly string[];
  /** Sub-records that JSON.parse accepts. */
  readonly parsed: number;
}

interface Pool {
  run(batch: readonly StreamRecord[]): Promise<BatchResult>;
  /** What RecordPipeline does once the archive sink acked a batch's lines. */
  release(result: BatchResult): void;
  destroy(): Promise<void>;
}

function clonePool(threads: number): Pool {
  const workerData: WorkerData = { settings: SETTINGS, fingerprint: {} };
  const piscina = new Piscina({
    filename: fileURLToPath(new URL('../clone-worker.js', import.meta.url)),
    execArgv: workerExecArgv(),
    minThreads: threads,
    maxThreads: threads,
    // As WorkerPool does, so that the two differ in how a batch crosses, not in how it waits.
    concurrentTasksPerWorker: BATCHES_PER_THREAD,
    workerData,
  });
  let crash: unknown;
  piscina.on('error', (error: unknown) => (crash ??= error));
  return {
    run: async (records) => {
      if (crash !== undefined) throw new Error('pipeline bench: a clone worker crashed', { cause: crash });
      const batch: ClonedBatch = { shardId: SHARD_ID, records };
      return (await piscina.run(batch)) as BatchResult;
    },
    // Cloned results own nothing the workers could reuse.
    release: () => undefined,
    destroy: () => piscina.destroy(),
  };
}

function workerPool(threads: number): Pool {
  let crash: unknown;
  const pool = new WorkerPool({ threads, settings: SETTINGS, onWorkerCrash: (error) => (crash ??= error) });
  return {
    run: async (records) => {
      const result = await pool.run(SHARD_ID, records);
      // The pool survives crashes by retrying: in a benchmark that is a bug to report, not to time.
      if (crash !== undefined) throw new Error('pipeline bench: a pool worker crashed', { cause: crash });
      return result;
    },
    release: (result) => pool.release(result),
    destroy: () => pool.destroy(),
  };
}

function check(results: readonly BatchResult[], expected: Expected, what: string): number {
  let valid = 0;
  let invalid = 0;
  for (const r of results) {
    valid += r.stats.valid;
    invalid += r.stats.invalid;
  }
  if (valid !== expected.valid || invalid !== expected.invalid) {
    throw new Error(`pipeline bench: ${what} gave ${valid} valid and ${invalid} invalid records, expected ${expected.valid} and ${expected.invalid}`);
  }
  return valid;
}

const EMPTY = new Uint8Array(0);

const percent = (part: number, whole: number): string => `${((100 * part) / whole).toFixed(1)}%`;

const decodeOptions = resolveDecodeOptions({ maxDecodedBytes: SETTINGS.maxDecodedBytes });

/**
 * The worker function's steps up to normalisation, as process-batch.ts takes
 * them (its decode sink, its validator and normalisers); counts the records
 * that passed (valid ones if `validate`, parsed ones otherwise).
 */
class FirstSteps implements BatchSink {
  passed = 0;

  constructor(private readonly validate: boolean) {}

  text(_subSequenceNumber: number, text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    if (!this.validate) {
      this.passed++;
      return;
    }
    const checked = normalise.validate(parsed);
    if (!checked.success) return;
    if (normalise.timestampMs(checked.data.timestamp) > 0 && normalise.level(checked.data.level) !== 'none') this.passed++;
  }

  failure(): void {}

  startRecord(): void {}
}

function firstSteps(task: BatchTask, validate: boolean): number {
  const sink = new FirstSteps(validate);
  decodeBatch(task, sink, decodeOptions);
  return sink.passed;
}

export function pipelineSuite(options: RunOptions): BenchSuite {
  // Ops cycle through the groups; quick mode (the test suite's smoke run) keeps one, of small batches.
  const groupCount = options.quick ? 1 : 4;
  const recordsPerBatch = options.quick ? 250 : 1000;
  const batchesPerOp = options.quick ? 2 : 4;
  const simulator = new LogSimulator({ seed: 7, errorRatio: 0.05, invalidRatio: 0.01, clock: steppingClock(Date.parse('2026-11-29T10:00:00Z'), 3) });
  const utf8 = new TextDecoder();
  const processWithFingerprints = compileBatchProcessor(SETTINGS, compileFingerprinter());
  const processWithout = compileBatchProcessor(NO_FINGERPRINTS, compileFingerprinter());
  const levels = new Map<string, number>();
  let bytes = 0;
  let sequence = 0;
  const groups: Group[] = [];
  for (let g = 0; g < groupCount; g++) {
    const batches: StreamRecord[][] = [];
    const texts: string[] = [];
    for (let b = 0; b < batchesPerOp; b++) {
      const batch: StreamRecord[] = [];
      for (let i = 0; i < recordsPerBatch; i++) {
        const event = simulator.next();
        const level = event.kind === 'valid' ? event.record.level : 'invalid';
        levels.set(level, (levels.get(level) ?? 0) + 1);
        bytes += event.data.byteLength;
        texts.push(utf8.decode(event.data));
        sequence++;
        batch.push({
          data: event.data,
          sequenceNumber: `49680678985547912061660721239922185018177652181020${String(sequence).padStart(6, '0')}`,
          partitionKey: `pod-${i % 16}`,
          approximateArrivalMs: 1_795_964_868_000 + sequence,
        });
      }
      batches.push(batch);
    }
    const tasks = batches.map((batch) => packBatch(SHARD_ID, batch).task);
    const results = tasks.map((task) => processWithFingerprints(task));
    const valid = results.reduce((sum, r) => sum + r.stats.valid, 0);
    const invalid = results.reduce((sum, r) => sum + r.stats.invalid, 0);
    const parsed = tasks.reduce((sum, task) => sum + firstSteps(task, false), 0);
    groups.push({ batches, tasks, texts, valid, invalid, parsed });
  }
  const total = groupCount * batchesPerOp * recordsPerBatch;
  const perOp = batchesPerOp * recordsPerBatch;
  const mix = [...levels.entries()].sort((a, b) => b[1] - a[1]).map(([level, n]) => `${level} ${percent(n, total)}`).join(', ');

  let next = 0;
  const nextGroup = (): Group => groups[next++ % groups.length]!;
  const pools = new Map<string, Pool>();
  // Threads start on a case's first (warm-up) call, not while other cases are measured.
  const allBatches = groups.flatMap((group) => group.batches);
  // Long pool ops, so the threads' idle time at an op's end weighs little (see the top of this file).
  const poolPasses = options.quick ? 1 : 4;
  const poolBatchesPerOp = poolPasses * allBatches.length;
  const everything: Expected = {
    valid: poolPasses * groups.reduce((sum, g) => sum + g.valid, 0),
    invalid: poolPasses * groups.reduce((sum, g) => sum + g.invalid, 0),
  };
  const poolCase = (name: string, threads: number, create: (threads: number) => Pool): BenchCase => ({
    name,
    unitsPerOp: poolPasses * total,
    fn: async () => {
      const pool = pools.get(name) ?? create(threads);
      pools.set(name, pool);
      const results: BatchResult[] = [];
      let nextBatch = 0;
      const lane = async (): Promise<void> => {
        while (nextBatch < poolBatchesPerOp) {
          const result = await pool.run(allBatches[nextBatch++ % allBatches.length]!);
          // Counted, then released as the pipeline releases a batch whose lines the archive sink acked.
          results.push({ ...result, archive: EMPTY });
          pool.release(result);
        }
      };
      await Promise.all(Array.from({ length: threads * 2 + 2 }, lane));
      return check(results, everything, name);
    },
  });
  const mainThreadCase = (name: string, process: (task: BatchTask) => BatchResult): BenchCase => {
    // A batch's lines go into the previous batch's buffer, as they do in the pool once released.
    let spare: ArrayBuffer | undefined;
    return {
      name,
      unitsPerOp: perOp,
      fn: () => {
        const group = nextGroup();
        const results = group.tasks.map((task) => {
          const result = process(spare === undefined ? task : { ...task, archiveBuffer: spare });
          spare = result.archive.buffer as ArrayBuffer;
          return result;
        });
        return check(results, group, name);
      },
    };
  };

  const cases: BenchCase[] = [
    {
      name: CASE.parse,
      baseline: true,
      unitsPerOp: perOp,
      fn: () => {
        let parsed = 0;
        for (const text of nextGroup().texts) {
          try {
            JSON.parse(text);
            parsed++;
          } catch {
            // Malformed and binary records: the worker function pays this throw too.
          }
        }
        return parsed;
      },
    },
    {
      name: CASE.decodeParse,
      unitsPerOp: perOp,
      fn: () => {
        const group = nextGroup();
        const parsed = group.tasks.reduce((sum, task) => sum + firstSteps(task, false), 0);
        if (parsed !== group.parsed) throw new Error(`pipeline bench: ${CASE.decodeParse} parsed ${parsed} records, expected ${group.parsed}`);
        return parsed;
      },
    },
    {
      name: CASE.normalise,
      unitsPerOp: perOp,
      fn: () => {
        const group = nextGroup();
        const valid = group.tasks.reduce((sum, task) => sum + firstSteps(task, true), 0);
        if (valid !== group.valid) throw new Error(`pipeline bench: ${CASE.normalise} passed ${valid} records, expected ${group.valid}`);
        return valid;
      },
    },
    mainThreadCase(CASE.noFingerprint, processWithout),
    mainThreadCase(CASE.single, processWithFingerprints),
    poolCase(CASE.pool1, 1, workerPool),
    poolCase(CASE.pool2, 2, workerPool),
    poolCase(CASE.clone1, 1, clonePool),
    poolCase(CASE.clone2, 2, clonePool),
  ];

  return {
    name: 'pipeline',
    description: `${total.toLocaleString('en-US')} simulator records (${mix}; avg ${Math.round(bytes / total)} B), batches of ${recordsPerBatch}; main thread ${batchesPerOp} batches per op, pools ${poolBatchesPerOp} per op (${poolPasses === 1 ? 'each batch once' : `each batch ${poolPasses} times`})`,
    unit: 'record',
    cases,
    notes: (result) => {
      const find = (name: string): CaseResult | undefined => result.cases.find((c) => c.name === name);
      const rate = (name: string): number => find(name)?.unitsPerSecond ?? Number.NaN;
      // Records/s of the fastest op: what the threads do when nothing else wants the cores.
      const best = (name: string): number => (cases.find((c) => c.name === name)?.unitsPerOp ?? Number.NaN) / ((find(name)?.minUs ?? Number.NaN) / 1e6);
      const x = (n: number): string => `${n.toFixed(2)}x`;
      const costOf = (name: string): number => rate(CASE.parse) / rate(name);
      const target = costOf(CASE.normalise);
      const scaling = rate(CASE.pool2) / rate(CASE.single);
      const bestScaling = best(CASE.pool2) / best(CASE.single);
      return [
        `time per record relative to JSON.parse alone: decode + parse ${x(costOf(CASE.decodeParse))}, + validate + normalise ${x(target)} (target <= 1.5x: ${target <= 1.5 ? 'met' : 'NOT met'}), the worker function with archive lines and no fingerprints ${x(costOf(CASE.noFingerprint))}`,
        `fingerprinting from WARN adds ${Math.round(100 * (rate(CASE.noFingerprint) / rate(CASE.single) - 1))}% to the worker function`,
        `2-thread pool vs the single-thread pipeline (worker function with fingerprints, main thread), target >= 1.5x: ${x(scaling)} by medians (${scaling >= 1.5 ? 'met' : 'NOT met'}), ${x(bestScaling)} by fastest ops (${bestScaling >= 1.5 ? 'met' : 'NOT met'}); 1-thread pool ${x(rate(CASE.pool1) / rate(CASE.single))}; 2 threads vs 1: ${x(rate(CASE.pool2) / rate(CASE.pool1))} by medians, ${x(best(CASE.pool2) / best(CASE.pool1))} by fastest ops`,
        `packed + moved vs structured clone: ${x(rate(CASE.pool1) / rate(CASE.clone1))} at 1 thread, ${x(rate(CASE.pool2) / rate(CASE.clone2))} at 2 threads`,
      ];
    },
    teardown: async () => {
      await Promise.all([...pools.values()].map((pool) => pool.destroy()));
    },
  };
}
