/**
 * The data-quality engine: one pass over the archive objects of a window
 * (plus the previous windows a volume expectation needs as its baseline) and
 * over the DLQ objects of the window, every row fed to every check, then one
 * Great Expectations result per expectation.
 *
 * The window selects OBJECTS by their start time (in the key), as
 * `cali dlq replay --from/--to` does: consecutive windows (an hourly job over
 * the last hour) see every archived record exactly once, whatever its event
 * time or consumer lag. Bounded memory: one object and one line at a time
 * (the sinks' own readers), fixed-size state per check.
 */
import { parseArchivedRecord } from '../pipeline/sinks/archive/archived-record.js';
import { scanDeadLetters } from '../pipeline/sinks/dlq/reader.js';
import { listObjectsInWindow, objectLines } from '../pipeline/sinks/object-reader.js';
import type { ObjectStore } from '../pipeline/sinks/object-store/object-store.js';
import { createCheck, isBaselineCheck, type BaselineCheck, type Check, type CheckOutcome, type Row } from './checks.js';
import { NO_EXCEPTION, statisticsOf, type BatchMarkers, type ExpectationValidationResult, type RowReference, type SuiteValidationResult } from './result.js';
import type { ExpectationSuite } from './suite.js';

export interface QualityWindow {
  /** Inclusive, epoch ms. */
  readonly fromMs: number;
  /** Exclusive, epoch ms. */
  readonly toMs: number;
}

export interface QualityStores {
  readonly archive: ObjectStore;
  /** Absent: the DLQ expectation reports an exception. */
  readonly dlq?: ObjectStore | undefined;
}

export interface QualityRunOptions {
  readonly suite: ExpectationSuite;
  readonly window: QualityWindow;
  readonly now?: () => number;
  readonly runName?: string;
  readonly caliVersion?: string;
}

const MAX_UNREADABLE_SAMPLES = 10;

/** How many previous windows the suite needs read for its baselines. */
export function baselineWindows(suite: ExpectationSuite): number {
  let windows = 0;
  for (const e of suite.expectations) {
    if (e.expectation_type === 'expect_column_value_counts_to_be_within_k_sigma_of_previous_windows') windows = Math.max(windows, e.kwargs.previous_windows);
  }
  return windows;
}

export function suiteNeedsDlq(suite: ExpectationSuite): boolean {
  return suite.expectations.some((e) => e.expectation_type === 'expect_dlq_ratio_to_be_below');
}

/**
 * `"service":"payment-service"` read straight from a line's bytes, without
 * decoding or JSON.parse: only when it is certainly the top-level field (no
 * object or array opened before it; inside a string a quote is escaped, so
 * the marker cannot come from a value) and a plain string (no escapes).
 * Anything else returns undefined and the line is parsed.
 */
export function topLevelString(line: Buffer, field: string): string | undefined {
  const marker = `"${field}":"`;
  const at = line.indexOf(marker);
  if (at === -1) return undefined;
  const object = line.indexOf(OPEN_BRACE, 1);
  const array = line.indexOf(OPEN_BRACKET);
  if ((object !== -1 && object < at) || (array !== -1 && array < at)) return undefined;
  const start = at + Buffer.byteLength(marker);
  const end = line.indexOf(QUOTE, start);
  if (end === -1) return undefined;
  const backslash = line.indexOf(BACKSLASH, start);
  if (backslash !== -1 && backslash < end) return undefined;
  return line.toString('utf8', start, end);
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A row with just the baseline checks' fields, taken from the bytes; undefined when the line must be parsed. */
function compileBaselineRow(checks: readonly BaselineCheck[]): ((line: Buffer) => Row | undefined) | undefined {
  const fields = [...new Set(checks.map((check) => check.baselineColumn))];
  if (fields.length === 0 || fields.some((field) => field.includes('.'))) return undefined;
  return (line) => {
    const row: Record<string, string> = {};
    for (const field of fields) {
      const value = topLevelString(line, field);
      if (value === undefined) return undefined;
      row[field] = value;
    }
    return row;
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function validateArchive(stores: QualityStores, options: QualityRunOptions): Promise<SuiteValidationResult> {
  const now = options.now ?? Date.now;
  const startedMs = now();
  const { fromMs, toMs } = options.window;
  if (!(fromMs < toMs)) throw new RangeError(`the window must start before it ends (${fromMs} >= ${toMs})`);
  const windowMs = toMs - fromMs;
  const previous = baselineWindows(options.suite);
  const checks: Check[] = options.suite.expectations.map(createCheck);
  const baselineChecks: BaselineCheck[] = checks.filter(isBaselineCheck);
  const baselineRow = compileBaselineRow(baselineChecks);

  const markers: BatchMarkers = {
    archive_rows: 0,
    archive_objects: 0,
    archive_bytes_stored: 0,
    archive_bytes_uncompressed: 0,
    unreadable_lines: 0,
    unreadable_objects: 0,
    unreadable_samples: [],
    dlq_objects: 0,
    dlq_records: null,
    dlq_unreadable: 0,
    baseline_rows: 0,
  };
  const unreadable = (text: string): void => {
    if (markers.unreadable_samples.length < MAX_UNREADABLE_SAMPLES) markers.unreadable_samples.push(text);
  };
  let rows = 0;
  const baselineRows = new Array<number>(previous).fill(0);

  const baselineFromMs = fromMs - previous * windowMs;
  for await (const object of listObjectsInWindow(stores.archive, { fromMs: baselineFromMs, toMs })) {
    const windowIndex = object.startMs >= fromMs ? 0 : Math.ceil((fromMs - object.startMs) / windowMs);
    if (windowIndex > 0 && baselineChecks.length === 0) continue;
    if (windowIndex === 0) {
      markers.archive_objects++;
      markers.archive_bytes_stored += object.sizeBytes;
    }
    let lineNumber = 0;
    try {
      for await (const line of objectLines(stores.archive, object.key)) {
        lineNumber = line.lineNumber;
        if (windowIndex > 0) {
          // Baseline rows feed only the volume counts: the counted field is taken from the bytes when that is safe.
          let data = baselineRow?.(line.bytes);
          if (data === undefined) {
            const parsed = parseArchivedRecord(line.bytes.toString('utf8'));
            if (!parsed.success) continue;
            data = parsed.data;
          }
          baselineRows[windowIndex - 1]!++;
          markers.baseline_rows++;
          for (const check of baselineChecks) check.observeBaseline(data, windowIndex);
          continue;
        }
        markers.archive_bytes_uncompressed += line.bytes.byteLength + 1;
        const parsed = parseArchivedRecord(line.bytes.toString('utf8'));
        if (!parsed.success) {
          markers.unreadable_lines++;
          unreadable(`${object.key} line ${line.lineNumber}: ${parsed.errors.slice(0, 2).map((e) => `${e.path}: expected ${e.expected}`).join('; ')}`);
          continue;
        }
        const row: Row = parsed.data;
        rows++;
        const where = (): RowReference => ({
          object_key: object.key,
          line_number: line.lineNumber,
          shard_id: parsed.data._cali.shardId,
          sequence_number: parsed.data._cali.sequenceNumber,
          sub_sequence_number: parsed.data._cali.subSequenceNumber,
        });
        for (const check of checks) check.observe(row, where);
      }
    } catch (error) {
      // A corrupt gzip stream or an object deleted by a lifecycle rule mid-read: counted, and the next object is read.
      if (windowIndex === 0) {
        markers.unreadable_objects++;
        unreadable(`${object.key} after line ${lineNumber}: ${errorMessage(error)}`);
      }
    }
  }

  let deadLetters: number | undefined;
  const byReason: Record<string, number> = {};
  if (stores.dlq !== undefined) {
    deadLetters = 0;
    const objects = new Set<string>();
    for await (const scanned of scanDeadLetters(stores.dlq, { fromMs, toMs })) {
      if (scanned.unreadable !== undefined) {
        markers.dlq_unreadable++;
        objects.add(scanned.unreadable.objectKey);
        continue;
      }
      objects.add(scanned.objectKey);
      deadLetters++;
      const code = scanned.deadLetter.reason.code;
      byReason[code] = (byReason[code] ?? 0) + 1;
    }
    markers.dlq_objects = objects.size;
    markers.dlq_records = deadLetters;
  }

  markers.archive_rows = rows;
  const context = { referenceMs: Math.min(startedMs, toMs), rows, deadLetters, deadLettersByReason: byReason, baselineRows };
  const results: ExpectationValidationResult[] = checks.map((check) => {
    let outcome: CheckOutcome;
    try {
      outcome = check.finish(context);
    } catch (error) {
      return {
        success: false,
        expectation_config: check.config,
        result: {},
        meta: {},
        exception_info: { raised_exception: true, exception_message: errorMessage(error), exception_traceback: null },
      };
    }
    return { success: outcome.success, expectation_config: check.config, result: outcome.result, meta: {}, exception_info: { ...NO_EXCEPTION } };
  });

  const runTime = new Date(startedMs).toISOString();
  return {
    success: results.every((r) => r.success),
    results,
    evaluation_parameters: {},
    statistics: statisticsOf(results),
    meta: {
      expectation_suite_name: options.suite.expectation_suite_name,
      run_id: { run_name: options.runName ?? `cali-quality-${runTime}`, run_time: runTime },
      validation_time: new Date(now()).toISOString(),
      cali_version: options.caliVersion ?? 'unknown',
      batch_spec: {
        archive: stores.archive.location,
        dlq: stores.dlq?.location ?? null,
        window: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
        baseline_window: previous === 0 ? null : { from: new Date(baselineFromMs).toISOString(), to: new Date(fromMs).toISOString() },
      },
      batch_markers: markers,
      duration_seconds: (now() - startedMs) / 1000,
    },
  };
}
