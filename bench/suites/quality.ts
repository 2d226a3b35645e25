/**
 * The data-quality engine's throughput in MB/s of uncompressed NDJSON on one
 * core (target: >= 100 MB/s), on real archive lines (bench/quality-data.ts),
 * one archive object of about 8 MiB per op, read from an in-memory store so
 * that no disk or network is measured.
 *
 * - Baseline: split the object into lines and JSON.parse each (the floor of
 *   any engine that looks at fields).
 * - Read + parse + `_cali` check only (a suite of one row-count expectation).
 * - The default suite (12 expectations), plain NDJSON and gzip (as the archive
 *   sink writes it: the gunzip is part of the job).
 * - The same with 6 previous windows of the same size to read for the volume
 *   baseline (MB/s still counts the validated window only).
 *
 * Quick mode (the test suite's smoke run) uses objects of 128 KiB.
 */
import type { BenchSuite, RunOptions } from '../harness.js';
import type { ObjectStore, ObjectSummary } from '../../src/pipeline/sinks/object-store/object-store.js';
import { validateArchive } from '../../src/quality/engine.js';
import { DEFAULT_SUITE, type ExpectationSuite } from '../../src/quality/suite.js';
import { buildObject, makeArchivePool, type BuiltObject } from '../quality-data.js';

/** A few objects (or none: the DLQ), in key order, served in 64 KiB chunks as a file or HTTP body would be. */
class MemoryStore implements ObjectStore {
  readonly location = 'memory://bench/';
  private readonly objects: readonly BuiltObject[];

  constructor(...objects: BuiltObject[]) {
    this.objects = [...objects].sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async put(): Promise<void> {
    throw new Error('read-only');
  }

  async *list(): AsyncGenerator<ObjectSummary> {
    for (const object of this.objects) yield { key: object.key, sizeBytes: object.body.byteLength };
  }

  async get(key: string): Promise<AsyncIterable<Uint8Array>> {
    const object = this.objects.find((o) => o.key === key);
    if (object === undefined) throw new Error(`no ${key}`);
    const body = object.body;
    return (async function* () {
      for (let at = 0; at < body.byteLength; at += 65_536) yield body.subarray(at, at + 65_536);
    })();
  }

  async delete(): Promise<void> {}
}

const ROW_COUNT_ONLY: ExpectationSuite = {
  expectation_suite_name: 'row_count_only',
  expectations: [{ expectation_type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 1 } }],
};

export function qualitySuite(options: RunOptions): BenchSuite {
  const startMs = Date.parse('2026-11-20T11:00:05Z');
  const window = { fromMs: Date.parse('2026-11-20T11:00:00Z'), toMs: Date.parse('2026-11-20T12:00:00Z') };
  const targetBytes = options.quick ? 128 * 1024 : 8 * 1024 * 1024;
  const pool = makeArchivePool(options.quick ? 200 : 4000, window.toMs);
  const plain = buildObject(pool, 0, startMs, { targetBytes, gzip: false });
  const gzip = buildObject(pool, 0, startMs, { targetBytes });
  const megabytes = plain.uncompressedBytes / 1e6;
  const text = plain.body.toString('utf8');

  // The same object again in each of the 6 previous windows: what the default suite's volume baseline reads.
  const baseline = Array.from({ length: 6 }, (_, k) => buildObject(pool, k + 1, startMs - (k + 1) * 3_600_000, { targetBytes }));
  const engine = (object: BuiltObject, suite: ExpectationSuite, previous: BuiltObject[] = []) => async () => {
    const result = await validateArchive({ archive: new MemoryStore(object, ...previous), dlq: new MemoryStore() }, { suite, window, now: () => window.toMs });
    // A run that read nothing (or choked on the lines) would look fast.
    if (result.meta.batch_markers.archive_rows !== object.lines || result.meta.batch_markers.unreadable_lines !== 0) throw new Error(`read ${result.meta.batch_markers.archive_rows} of ${object.lines} lines`);
    return result.success;
  };

  return {
    name: 'quality',
    description: `cali quality engine on one archive object of ${megabytes.toFixed(1)} MB NDJSON (${plain.lines} lines, ${pool.meanLineBytes.toFixed(0)} B/line; gzip ${(gzip.body.byteLength / 1e6).toFixed(1)} MB), one core`,
    unit: 'MB',
    cases: [
      {
        name: 'split lines + JSON.parse',
        baseline: true,
        unitsPerOp: megabytes,
        fn: () => {
          let parsed = 0;
          for (let at = 0; at < text.length; ) {
            const end = text.indexOf('\n', at);
            JSON.parse(text.slice(at, end));
            parsed++;
            at = end + 1;
          }
          return parsed;
        },
      },
      { name: 'engine: read + parse + _cali check (row count only), plain', unitsPerOp: megabytes, fn: engine(plain, ROW_COUNT_ONLY) },
      { name: 'engine: default suite (12 expectations), plain', unitsPerOp: megabytes, fn: engine(plain, DEFAULT_SUITE) },
      { name: 'engine: default suite (12 expectations), gzip', unitsPerOp: megabytes, fn: engine(gzip, DEFAULT_SUITE) },
      { name: 'engine: default suite, gzip, + 6 baseline windows of the same size', unitsPerOp: megabytes, fn: engine(gzip, DEFAULT_SUITE, baseline) },
    ],
    notes: (result) => {
      const find = (prefix: string) => result.cases.find((c) => c.name.startsWith(prefix))!;
      const gz = find('engine: default suite (12 expectations), gzip');
      const plainDefault = find('engine: default suite (12 expectations), plain');
      const withBaseline = find('engine: default suite, gzip, + 6');
      return [
        `reading 6 baseline windows for the volume expectation costs ${(gz.unitsPerSecond / withBaseline.unitsPerSecond).toFixed(2)}x the window alone (they are counted by service, not validated)`,
        `default suite over gzip: ${gz.unitsPerSecond.toFixed(0)} MB/s of uncompressed NDJSON per core (target >= 100 MB/s: ${gz.unitsPerSecond >= 100 ? 'met' : 'NOT met'})`,
        `default suite over plain NDJSON (everything on the main thread): ${plainDefault.unitsPerSecond.toFixed(0)} MB/s, ${(find('engine: read').unitsPerSecond / plainDefault.unitsPerSecond).toFixed(2)}x the time of reading and parsing alone, ${(result.cases.find((c) => c.baseline)!.unitsPerSecond / plainDefault.unitsPerSecond).toFixed(2)}x the time of JSON.parse alone`,
        'with gzip, zlib inflates on a libuv thread: the main thread does less, so that case can beat the single-thread ones on 2+ cores',
      ];
    },
  };
}
