/**
 * The worker side of the pipeline: the batch processor's output on simulator
 * records (archive lines with `_cali`, typed invalid reasons, incident
 * candidates), the pool returning the same bytes as the single-thread path,
 * and crashed threads: retried, then bisected down to the poison record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { StreamRecord } from '../src/lease/record-processor.js';
import { packBatch } from '../src/pipeline/pack.js';
import { WorkerPool } from '../src/pipeline/worker-pool.js';
import { LogSimulator, steppingClock, type SimulatedEvent } from '../src/simulator/generator.js';
import { compileFingerprinter } from '../src/workers/fingerprint/fingerprint.js';
import { compileBatchProcessor } from '../src/workers/process-batch.js';
import type { WorkerSettings } from '../src/workers/protocol.js';

const SETTINGS: WorkerSettings = { fingerprintMinLevel: 'warn', maxDecodedBytes: 1024 * 1024 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const pools: WorkerPool[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'cali-pool-'));

afterAll(async () => {
  await Promise.all(pools.map((p) => p.destroy()));
  rmSync(scratch, { recursive: true, force: true });
});

function events(n: number, options: { errorRatio?: number; invalidRatio?: number; seed?: number } = {}): SimulatedEvent[] {
  const simulator = new LogSimulator({ seed: options.seed ?? 1, errorRatio: options.errorRatio ?? 0.2, invalidRatio: options.invalidRatio ?? 0, clock: steppingClock(Date.parse('2026-11-29T10:00:00Z'), 7) });
  return Array.from({ length: n }, () => simulator.next());
}

function records(list: readonly SimulatedEvent[] | readonly Uint8Array[]): StreamRecord[] {
  return list.map((e, i) => ({
    data: e instanceof Uint8Array ? e : e.data,
    sequenceNumber: `4968067898554791206166072123992218501817765218102${String(1000 + i).padStart(7, '0')}`,
    partitionKey: 'k',
    approximateArrivalMs: 1_795_964_868_000 + i,
  }));
}

const processBatch = compileBatchProcessor(SETTINGS, compileFingerprinter());

describe('batch processor', () => {
  it('archives valid records with their position, and types every invalid kind', () => {
    const list = events(3000, { invalidRatio: 0.2 });
    const input = records(list);
    const result = processBatch(packBatch('shardId-000000000001', input).task);
    const lines = decoder.decode(result.archive).trimEnd().split('\n');
    const valid = list.filter((e) => e.kind === 'valid');
    expect(result.archiveLines).toBe(valid.length);
    expect(lines).toHaveLength(valid.length);
    const first = JSON.parse(lines[0]!) as Record<string, unknown> & { _cali: Record<string, unknown> };
    const firstIndex = list.findIndex((e) => e.kind === 'valid');
    expect(first._cali).toMatchObject({ shardId: 'shardId-000000000001', sequenceNumber: input[firstIndex]!.sequenceNumber, subSequenceNumber: 0, arrivalMs: input[firstIndex]!.approximateArrivalMs });
    expect(first.message).toBe((list[firstIndex] as { record: { message: string } }).record.message);

    const expected: Record<string, string> = {
      'malformed-json': 'malformed_json', 'missing-field': 'schema_violation', 'wrong-type': 'schema_violation',
      oversized: 'schema_violation', unparsed: 'schema_violation', 'binary-garbage': 'not_json_object',
    };
    const invalid = list.flatMap((e, i) => (e.kind === 'invalid' ? [[i, e.invalidKind] as const] : []));
    expect(result.invalid.map((r) => r.recordIndex)).toEqual(invalid.map(([i]) => i));
    for (const [k, entry] of result.invalid.entries()) {
      const kind = invalid[k]![1];
      if (kind === 'binary-garbage') expect(['not_json_object', 'invalid_utf8']).toContain(entry.code);
      else expect(entry.code, kind).toBe(expected[kind]);
    }
    expect(result.stats).toMatchObject({ records: 3000, valid: valid.length, invalid: invalid.length });
  });

  it('archives non-ASCII records byte for byte, also when gzip makes them larger than the batch', () => {
    const list = events(40, { seed: 3 }).filter((e) => e.kind === 'valid');
    // Two-, three- and four-byte characters; gzip shrinks the repeats, so the archive outgrows the packed batch.
    const texts = list.map((e, i) => JSON.stringify({ ...e.record, message: `${'Grüße 日本 🚀 '.repeat(i % 2 === 0 ? 1300 : 1)}${e.record.message}` }));
    const input = records(texts.map((text, i) => (i % 2 === 0 ? gzipSync(text) : encoder.encode(text))));
    const result = processBatch(packBatch('s', input).task);
    expect(result.archive.byteLength).toBeGreaterThan(input.reduce((sum, r) => sum + r.data.byteLength, 0) + 256 * input.length);
    const lines = decoder.decode(result.archive).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => line.replace(/,"_cali":\{[^}]*\}\}$/, '}'))).toEqual(texts);
  });

  it('gives every record its own text when ASCII runs and non-ASCII records alternate', () => {
    const list = events(100, { seed: 5 }).filter((e) => e.kind === 'valid');
    // Non-ASCII records at run edges and inside runs; multi-line records slice their run's text twice.
    const accented = new Set([0, 31, 32, 45, 63, 64]);
    const objects = list.map((e, i) => JSON.stringify({ ...e.record, message: `${accented.has(i) ? 'Grüße ' : ''}#${i} ${e.record.message}` }));
    const payloads = objects.map((text, i) => (i % 3 === 0 ? `${text}\n\n${text}\n` : text));
    const result = processBatch(packBatch('s', records(payloads.map((text) => encoder.encode(text)))).task);
    const lines = decoder.decode(result.archive).trimEnd().split('\n');
    const expected = objects.flatMap((text, i) => (i % 3 === 0 ? [text, text] : [text]));
    expect(result.invalid).toEqual([]);
    expect(lines.map((line) => line.replace(/,"_cali":\{[^}]*\}\}$/, '}'))).toEqual(expected);
  });

  it('aggregates incident candidates per fingerprint within the batch', () => {
    const list = events(600, { errorRatio: 1 });
    const result = processBatch(packBatch('s', records(list)).task);
    const byScenario = new Map<string, number>();
    for (const e of list) byScenario.set(e.label, (byScenario.get(e.label) ?? 0) + 1);
    expect(result.incidents).toHaveLength(byScenario.size);
    expect(result.incidents.map((c) => c.count).sort((a, b) => a - b)).toEqual([...byScenario.values()].sort((a, b) => a - b));
    for (const c of result.incidents) {
      expect(c.pods.length).toBeGreaterThan(0);
      expect(c.lastSeenMs).toBeGreaterThanOrEqual(c.firstSeenMs);
      expect(c.sample.exception).toBeDefined();
    }
  });

  it('writes timestampMs null for a timestamp the validator accepts and Date.parse does not (JSON has no NaN)', () => {
    const record = { timestamp: '2026-11-29\u202810:00:00Z', level: 'INFO', service: 's', message: 'm', log_content: 'c' };
    expect(Date.parse(record.timestamp)).toBeNaN();
    const result = processBatch(packBatch('s', records([encoder.encode(JSON.stringify(record))])).task);
    expect(result.archiveLines).toBe(1);
    expect((JSON.parse(decoder.decode(result.archive)) as { _cali: { timestampMs: unknown } })._cali.timestampMs).toBeNull();
  });

  it('packs into a reused buffer when it is large enough, and reads back the same task', () => {
    const input = records(events(50));
    const fresh = packBatch('s', input);
    const reused = packBatch('s', input, new ArrayBuffer(fresh.task.buffer.byteLength + 100).slice(0));
    const tooSmall = new ArrayBuffer(10);
    expect(packBatch('s', input, tooSmall).task.buffer).not.toBe(tooSmall);
    const big = new ArrayBuffer(fresh.task.buffer.byteLength + 100);
    new Uint8Array(big).fill(0x7b);
    const into = packBatch('s', input, big);
    expect(into.task.buffer).toBe(big);
    expect(into.transferList).toEqual([big]);
    expect(decoder.decode(processBatch(into.task).archive)).toBe(decoder.decode(processBatch(fresh.task).archive));
    expect(reused.task.offsets).toEqual(fresh.task.offsets);
  });

  it("fingerprints nothing with fingerprintMinLevel 'off', and archives the same records", () => {
    const input = records(events(300, { errorRatio: 1 }));
    const on = processBatch(packBatch('s', input).task);
    const off = compileBatchProcessor({ ...SETTINGS, fingerprintMinLevel: 'off' }, compileFingerprinter())(packBatch('s', input).task);
    expect(on.stats.fingerprinted).toBeGreaterThan(0);
    expect(off.stats.fingerprinted).toBe(0);
    expect(off.incidents).toEqual([]);
    expect(off.archiveLines).toBe(on.archiveLines);
    expect(decoder.decode(off.archive)).toBe(decoder.decode(on.archive).replace(/"fingerprint":"[^"]*"/g, '"fingerprint":null'));
  });
});

describe('worker pool', () => {
  it('returns exactly what the single-thread path returns, from two threads', async () => {
    const pool = new WorkerPool({ threads: 2, settings: SETTINGS });
    pools.push(pool);
    const input = records(events(2000, { invalidRatio: 0.05 }));
    const direct = processBatch(packBatch('s', input).task);
    const [a, b] = await Promise.all([pool.run('s', input.slice(0, 1000)), pool.run('s', input.slice(1000))]);
    expect(decoder.decode(a!.archive) + decoder.decode(b!.archive)).toBe(decoder.decode(direct.archive));
    expect(a!.stats.invalid + b!.stats.invalid).toBe(direct.stats.invalid);
    // The input records are untouched: only the packed copy moved to the thread.
    expect(input[0]!.data.byteLength).toBeGreaterThan(0);
  });

  it('reuses packed buffers and released archive buffers without mixing batches', async () => {
    const pool = new WorkerPool({ threads: 1, settings: SETTINGS });
    pools.push(pool);
    const all = records(events(2000, { invalidRatio: 0.05, seed: 5 }));
    // Large, then smaller (into the large one's buffers: stale bytes past its end), then larger than both.
    const batches = [all.slice(0, 700), all.slice(700, 800), all.slice(800)];
    const capacities: number[] = [];
    for (const batch of batches) {
      const result = await pool.run('s', batch);
      const direct = processBatch(packBatch('s', batch).task);
      expect(decoder.decode(result.archive)).toBe(decoder.decode(direct.archive));
      expect(result.invalid).toEqual(direct.invalid);
      expect(result.incidents).toEqual(direct.incidents);
      capacities.push(result.archive.buffer.byteLength);
      pool.release(result);
      pool.release(result);
    }
    // The second batch's lines went into the first one's buffer, larger than it needed.
    expect(capacities[1]).toBe(capacities[0]);
    expect(capacities[2]).toBeGreaterThan(capacities[0]!);
  });

  it('queues more batches than threads without calling it a crash (the pipeline bounds in-flight work)', async () => {
    const crashes: number[] = [];
    const pool = new WorkerPool({ threads: 1, settings: SETTINGS, onWorkerCrash: (_error, n) => crashes.push(n) });
    pools.push(pool);
    // RecordPipeline's default in-flight limit for one thread: threads * 2 + 2.
    const batches = Array.from({ length: 4 }, (_, i) => records(events(50, { seed: 10 + i })));
    const results = await Promise.all(batches.map((batch) => pool.run('s', batch)));
    expect(crashes).toEqual([]);
    expect(results.map((r) => r.invalid.filter((x) => x.code === 'worker_crash'))).toEqual([[], [], [], []]);
    expect(results.map((r) => r.stats.records)).toEqual([50, 50, 50, 50]);
  });

  it('loads the worker module with import(), never require(esm), so terminating a booting thread cannot abort the process', async () => {
    const crashes: unknown[] = [];
    const pool = new WorkerPool({
      threads: 1, settings: SETTINGS, filename: fileURLToPath(new URL('./fixtures/workers/import-only-worker.mjs', import.meta.url)),
      onWorkerCrash: (error) => crashes.push(error),
    });
    pools.push(pool);
    const result = await pool.run('s', records(events(20, { seed: 3 })));
    expect(crashes).toEqual([]);
    expect(result.stats.records).toBe(20);
    expect(result.invalid.filter((x) => x.code === 'worker_crash')).toEqual([]);
  });

  it('retries a batch whose thread died, losing nothing', async () => {
    process.env.CALI_TEST_CRASH_ONCE_FILE = join(scratch, 'crashed-once');
    const crashes: number[] = [];
    const pool = new WorkerPool({
      threads: 2, settings: SETTINGS, filename: fileURLToPath(new URL('./fixtures/workers/crashing-worker.mjs', import.meta.url)),
      onWorkerCrash: (_error, n) => crashes.push(n),
    });
    pools.push(pool);
    const list = events(100);
    const input = records([...list.slice(0, 50).map((e) => e.data), encoder.encode('{"message":"ONCE"}'), ...list.slice(50).map((e) => e.data)]);
    const result = await pool.run('s', input);
    expect(crashes).toEqual([101]);
    expect(result.stats.records).toBe(101);
    expect(result.archiveLines).toBe(list.filter((e) => e.kind === 'valid').length);
    expect(result.invalid.map((r) => [r.recordIndex, r.code])).toEqual([[50, 'schema_violation']]);
  });

  it('bisects a batch that crashes twice down to the poison record, which goes to the DLQ as worker_crash', async () => {
    const pool = new WorkerPool({ threads: 2, settings: SETTINGS, filename: fileURLToPath(new URL('./fixtures/workers/crashing-worker.mjs', import.meta.url)) });
    pools.push(pool);
    const list = events(63, { errorRatio: 0.3 });
    const input = records([...list.slice(0, 20).map((e) => e.data), encoder.encode('POISON'), ...list.slice(20).map((e) => e.data)]);
    const result = await pool.run('s', input);
    expect(result.invalid).toEqual([expect.objectContaining({ recordIndex: 20, code: 'worker_crash' })]);
    expect(result.archiveLines).toBe(63);
    const direct = processBatch(packBatch('s', records(list)).task);
    // Same records archived, in the same order; only their positions moved by one.
    const withoutPosition = (archive: Uint8Array): string[] => decoder.decode(archive).split('\n').map((l) => l.replace(/,"_cali":\{[^}]*\}\}$/, '}'));
    expect(withoutPosition(result.archive)).toEqual(withoutPosition(direct.archive));
    const after = await pool.run('s', records(list.slice(0, 5)));
    expect(after.archiveLines).toBe(5);
  }, 60_000);

  it('charges a crash to the batch its thread was running, not to the batch waiting behind it on that thread', async () => {
    const crashes: number[] = [];
    // One thread holds both batches: the clean one waits behind the poisoned one each time the thread dies.
    const pool = new WorkerPool({
      threads: 1, settings: SETTINGS, filename: fileURLToPath(new URL('./fixtures/workers/crashing-worker.mjs', import.meta.url)),
      onWorkerCrash: (_error, n) => crashes.push(n),
    });
    pools.push(pool);
    const list = events(40, { seed: 5 });
    const poisoned = records([...list.slice(0, 10).map((e) => e.data), encoder.encode('POISON'), ...list.slice(10, 20).map((e) => e.data)]);
    const clean = records(list.slice(20));
    const [fromPoisoned, fromClean] = await Promise.all([pool.run('s1', poisoned), pool.run('s2', clean)]);
    expect(fromPoisoned.invalid).toEqual([expect.objectContaining({ recordIndex: 10, code: 'worker_crash' })]);
    expect(fromClean.invalid).toEqual([]);
    expect(fromClean.archiveLines).toBe(list.slice(20).filter((e) => e.kind === 'valid').length);
    // Two crashes for the poisoned batch and for each half on the way to the poison record; none for the clean 20.
    expect(crashes).toEqual([21, 21, 11, 11, 5, 5, 2, 2, 1, 1]);
  }, 60_000);

  it('rejects a batch still in flight when the pool is destroyed, instead of retrying it for ever', async () => {
    const pool = new WorkerPool({ threads: 1, settings: SETTINGS });
    const rejected = expect(pool.run('s', records(events(50, { seed: 9 })))).rejects.toThrow();
    await pool.destroy();
    await rejected;
  });

  it('survives threads killed mid-batch, also while they boot, without a worker_crash dead letter', async () => {
    let replaced = 0;
    let crashes = 0;
    const pool = new WorkerPool({ threads: 2, settings: SETTINGS, onPoolReplaced: () => replaced++, onWorkerCrash: () => crashes++ });
    pools.push(pool);
    const list = events(400, { invalidRatio: 0 });
    // Back to back: the second kill hits the replacements while they boot, which piscina
    // itself never replaces again (without the pool's own replacement this hangs).
    for (let kill = 0; kill < 4; kill++) {
      const batches = Array.from({ length: 4 }, (_, i) => pool.run(`s${i}`, records(list)));
      expect(await pool.terminateAllThreads()).toBeGreaterThan(0);
      const second = pool.terminateAllThreads();
      for (const result of await Promise.all(batches)) {
        expect(result.invalid).toEqual([]);
        expect(result.archiveLines).toBe(400);
      }
      await second;
    }
    expect(crashes).toBeGreaterThan(0);
    expect(replaced).toBeGreaterThan(0);
  }, 60_000);
});
